import * as grpc from '@grpc/grpc-js';
import type { ServingContext } from '../context.js';

/** PLACEHOLDER until the gRPC adapter lands (being written now). */
export function startGrpc(ctx: ServingContext): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  return new Promise((resolve, reject) => {
    server.bindAsync(`${ctx.config.host}:${ctx.config.grpcPort ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve({ server, port })));
  });
}
