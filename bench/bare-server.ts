/**
 * The floor Ferry's HTTP overhead is measured against: node:http + onnxruntime-node and nothing
 * else. Parses an Open Inference Protocol JSON body, builds the tensor, runs, replies JSON. No
 * routing, validation, metrics, logging, batching or request ids. Prints `{"port": N}` once listening.
 *
 * With `--canned` it reads the body and answers the same bytes every time, with no JSON parse and
 * no model: the most a node:http server can answer here, i.e. the load generator's ceiling.
 *
 *   node --import tsx bench/bare-server.ts <model.onnx> [--canned]
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openSession, ort } from './lib/ort-session.js';

interface OipInput { name: string; shape: number[]; data: number[] | number[][] }

const session = await openSession(process.argv[2] ?? '');

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function outputJson(name: string, t: ort.Tensor): object {
  const data = t.data instanceof BigInt64Array ? Array.from(t.data, Number) : Array.from(t.data as Float32Array);
  return { name, datatype: t.type === 'int64' ? 'INT64' : 'FP32', shape: t.dims, data };
}

async function infer(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const doc = JSON.parse((await readBody(req)).toString('utf8')) as { inputs: OipInput[] };
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of doc.inputs) feeds[input.name] = new ort.Tensor('float32', Float32Array.from(input.data.flat()), input.shape);
  const out = await session.run(feeds);
  const body = JSON.stringify({ model_name: 'bare', outputs: Object.entries(out).map(([name, t]) => outputJson(name, t)) });
  res.writeHead(200, { 'content-type': 'application/json' }).end(body);
}

const CANNED = '{"model_name":"bare","outputs":[{"name":"label","datatype":"INT64","shape":[1],"data":[0]},{"name":"probabilities","datatype":"FP32","shape":[1,2],"data":[0.997943639755249,0.0020563602447509766]}]}';

async function canned(req: IncomingMessage, res: ServerResponse): Promise<void> {
  await readBody(req);
  res.writeHead(200, { 'content-type': 'application/json' }).end(CANNED);
}

const handle = process.argv.includes('--canned') ? canned : infer;

const server = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err) }));
  });
});
// Same keep-alive behaviour as Fastify's default (72 s), so connections are reused alike.
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
