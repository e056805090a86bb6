/** One OIP gRPC ModelInfer call from a real grpc-js client built from the proto Ferry serves. */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ROOT } from './env.js';

type Callback = (err: grpc.ServiceError | null, res: unknown) => void;
type Client = grpc.Client & Record<string, (req: object, md: grpc.Metadata, cb: Callback) => grpc.ClientUnaryCall>;

/** ModelInfer on 127.0.0.1:port; resolves with the decoded response (keepCase, longs as strings) and the response headers. */
export function grpcInfer(port: number, request: object): Promise<{ res: Record<string, unknown>; headers: grpc.Metadata }> {
  const definition = protoLoader.loadSync(join(ROOT, 'proto/open_inference_grpc.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
  const client = new pkg.inference.GRPCInferenceService(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Client;
  return new Promise((resolve, reject) => {
    let headers = new grpc.Metadata();
    const call = client.ModelInfer!.call(client, request, new grpc.Metadata(), (err: grpc.ServiceError | null, res: unknown) => {
      client.close();
      return err ? reject(err) : resolve({ res: res as Record<string, unknown>, headers });
    });
    call.on('metadata', (md: grpc.Metadata) => { headers = md; });
  });
}
