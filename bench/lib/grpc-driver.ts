/**
 * gRPC ModelInfer load: a closed loop of `concurrency` calls in flight over a few channels.
 * The request is serialized once and replayed as bytes, and answers are kept as bytes, so
 * the load generator spends its (shared) CPU on the wire, not on protobuf.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Driver, LoadBounds } from './driver.js';
import { ROOT } from './fixture.js';
import { LatencyRecorder, type Measurement } from './stats.js';

const MiB = 1024 * 1024;
const SERVICE = 'inference.GRPCInferenceService';
/** Channels (TCP connections) for a run: HTTP/2 multiplexes the calls over them. */
const MAX_CHANNELS = 4;

interface InferResponse { outputs: { name: string }[]; raw_output_contents: Buffer[] }

function modelInferMethod(): protoLoader.MethodDefinition<object, object> {
  const pkg = protoLoader.loadSync(join(ROOT, 'proto/open_inference_grpc.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const service = pkg[SERVICE] as protoLoader.ServiceDefinition | undefined;
  const method = service?.ModelInfer;
  if (!method) throw new Error(`${SERVICE}/ModelInfer is not in the proto`);
  return method;
}

export class GrpcDriver implements Driver {
  readonly #address: string;
  readonly #method = modelInferMethod();
  readonly #request: Buffer;
  readonly #expectOutputs: readonly string[];
  #clients: grpc.Client[] = [];

  constructor(address: string, request: object, expectOutputs: readonly string[]) {
    this.#address = address;
    this.#request = this.#method.requestSerialize(request);
    this.#expectOutputs = expectOutputs;
  }

  get requestBytes(): number {
    return this.#request.length;
  }

  async preflight(): Promise<void> {
    const [client] = this.#channels(1);
    const bytes = await this.#call(client!);
    const res = this.#method.responseDeserialize(bytes) as InferResponse;
    const names = res.outputs.map((o) => o.name);
    if (this.#expectOutputs.some((n) => !names.includes(n)) || res.raw_output_contents.length !== names.length) {
      throw new Error(`gRPC ModelInfer at ${this.#address} answered outputs [${names.join(', ')}] with ${res.raw_output_contents.length} raw buffer(s)`);
    }
  }

  async run(bounds: LoadBounds): Promise<Measurement> {
    const clients = this.#channels(Math.min(MAX_CHANNELS, bounds.concurrency));
    const recorder = new LatencyRecorder();
    const started = performance.now();
    const deadline = started + bounds.seconds * 1000;
    let sent = 0;
    const worker = async (client: grpc.Client) => {
      while (performance.now() < deadline && sent < bounds.maxRequests) {
        sent++;
        const t0 = performance.now();
        try {
          await this.#call(client);
          recorder.ok(performance.now() - t0);
        } catch {
          recorder.error();
        }
      }
    };
    await Promise.all(Array.from({ length: bounds.concurrency }, (_, i) => worker(clients[i % clients.length]!)));
    return recorder.measurement((performance.now() - started) / 1000);
  }

  close(): void {
    for (const c of this.#clients) c.close();
    this.#clients = [];
  }

  /** At least `n` connected clients, each on its own subchannel (its own TCP connection). */
  #channels(n: number): grpc.Client[] {
    while (this.#clients.length < n) {
      this.#clients.push(new grpc.Client(this.#address, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.max_send_message_length': 64 * MiB,
        'grpc.max_receive_message_length': 64 * MiB,
      }));
    }
    return this.#clients.slice(0, n);
  }

  #call(client: grpc.Client): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest<Buffer, Buffer>(this.#method.path, identity, identity, this.#request, { deadline: Date.now() + 10_000 }, (err, res) => {
        if (err || !res) reject(err ?? new Error('empty gRPC answer'));
        else resolve(res);
      });
    });
  }
}

function identity(b: Buffer): Buffer {
  return b;
}
