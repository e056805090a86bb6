/** The OpenAPI 3 description of the REST surface, served at GET /openapi.json. */

const json = (schema: object) => ({ 'application/json': { schema } });
const error = { description: 'Error', content: json({ $ref: '#/components/schemas/Error' }) };
const modelParam = { name: 'model', in: 'path', required: true, schema: { type: 'string' } };
const versionParam = { name: 'version', in: 'path', required: true, description: 'A version number or an alias (e.g. champion).', schema: { type: 'string' } };
const aliasParam = { name: 'alias', in: 'path', required: true, schema: { type: 'string' } };
const query = (name: string, description: string) => ({ name, in: 'query', required: false, description, schema: { type: 'string' } });
const jsonBody = (description: string) => ({ required: true, description, content: json({ type: 'object' }) });

function op(summary: string, tags: string[], extra: object = {}) {
  return { summary, tags, responses: { 200: { description: 'OK' }, 400: error, 404: error, 503: error }, ...extra };
}

const inferBody = { required: true, content: { ...json({ $ref: '#/components/schemas/InferRequest' }), 'application/octet-stream': { schema: { type: 'string', format: 'binary', description: 'Binary tensor data extension: JSON header (length in Inference-Header-Content-Length) followed by raw tensors.' } } } };

export function openApiDocument(version: string): object {
  const oip = ['Open Inference Protocol v2'];
  const repo = ['Model repository extension'];
  const mlflow = ['MLflow scoring protocol'];
  const kserve = ['KServe v1'];
  const withVersion = (path: string) => path.replace('{model}', '{model}/versions/{version}');
  const paths: Record<string, object> = {
    '/v2/health/live': { get: op('Server liveness', oip) },
    '/v2/health/ready': { get: op('Server readiness (every eager model loaded)', oip) },
    '/v2': { get: op('Server metadata: name, version, extensions', oip) },
    '/v2/models/{model}': { get: op('Model metadata: versions, platform, inputs, outputs', oip, { parameters: [modelParam] }) },
    '/v2/models/{model}/ready': { get: op('Model readiness (200 ready, 400 not)', oip, { parameters: [modelParam] }) },
    '/v2/models/{model}/infer': { post: op('Inference (JSON or binary tensor data)', oip, { parameters: [modelParam], requestBody: inferBody }) },
    '/v2/repository/index': { post: op('Served models and their states', repo) },
    '/v2/repository/models/{model}/load': { post: op('Load (or reload) a model; needs the admin scope', repo, { parameters: [modelParam] }) },
    '/v2/repository/models/{model}/unload': { post: op('Unload a model; needs the admin scope', repo, { parameters: [modelParam] }) },
    '/invocations': { post: op('Score with the only served model (dataframe_split, dataframe_records, instances, inputs, or text/csv)', mlflow) },
    '/models/{model}/invocations': { post: op('Score with one model, MLflow payloads', mlflow, { parameters: [modelParam] }) },
    '/ping': { get: op('200 when the models are loaded', mlflow) },
    '/health': { get: op('200 when the models are loaded', mlflow) },
    '/version': { get: op('Server version', mlflow) },
    '/v1/models': { get: op('Served model names', kserve) },
    '/v1/models/{model}': { get: op('Model status {"name","ready"}', kserve, { parameters: [modelParam] }) },
    '/v1/models/{model}:predict': { post: op('Predict with "instances" or "inputs"', kserve, { parameters: [modelParam] }) },
    '/ferry/v1/models': { get: op('One page of models with aliases, latest version, serving state and requests/s (docs/api.md)', ['Ferry registry'], { parameters: [query('search', 'substring of name or description'), query('alias', 'only models with this alias'), query('offset', '≥ 0'), query('limit', '1..200, default 50')] }) },
    '/ferry/v1/models/{model}': { get: op('A model: one page of its versions (newest first), aliases, alias history, how this server serves it', ['Ferry registry'], { parameters: [modelParam, query('offset', '≥ 0'), query('limit', '1..200'), query('archived', 'true: archived versions too')] }) },
    '/ferry/v1/models/{model}/aliases': { get: op('Aliases of a model and their history', ['Ferry admin'], { parameters: [modelParam] }) },
    '/ferry/v1/models/{model}/aliases/{alias}': { put: op('Point an alias at a version ({"version": n}); admin scope; hot-reloads at once', ['Ferry admin'], { parameters: [modelParam, aliasParam], requestBody: jsonBody('{"version": <number or reference>}') }) },
    '/ferry/v1/models/{model}/aliases/{alias}/rollback': { post: op('Move an alias back to its previous version; admin scope', ['Ferry admin'], { parameters: [modelParam, aliasParam] }) },
    '/ferry/v1/models/{model}/promote': { post: op('Move an alias to a version only when every gate holds (ferry promote); a failing gate is a 409 naming it; admin scope', ['Ferry admin'], { parameters: [modelParam], requestBody: jsonBody('{"version": 3, "to": "champion", "require": ["<gate>", …], "window": "24h" | "last": n}') }) },
    '/ferry/v1/models/{model}/traffic': {
      put: op('Set the model\'s canary split and shadow for every replica (ferry traffic set); recorded in the alias history; admin scope', ['Ferry admin'], { parameters: [modelParam], requestBody: jsonBody('{"canary": [{"target": "champion", "weight": 90}, …] | null, "shadow": {"target": "challenger", "share": 0.2} | null}') }),
      delete: op('Remove the model\'s traffic setting: ferry.yaml\'s canary and shadow apply again (ferry traffic clear); admin scope', ['Ferry admin'], { parameters: [modelParam] }),
    },
    '/ferry/v1/models/{model}/versions/{version}/profile': { get: op('A version\'s reference profile as people read it (per-column statistics)', ['Monitoring'], { parameters: [modelParam, versionParam] }) },
    '/ferry/v1/models/{model}/versions/{version}/examples': { get: op('Rows drawn from the reference profile (≤ 64) and the data columns that filled each input', ['Monitoring'], { parameters: [modelParam, versionParam, query('n', 'rows, default 5')] }) },
    '/ferry/v1/models/{model}/compare': { get: op('ferry compare of two versions on 64 rows drawn from version a\'s reference profile', ['Monitoring'], { parameters: [modelParam, query('a', 'version'), query('b', 'version'), query('tolerance', 'default 1e-6')] }) },
    '/ferry/v1/models/{model}/drift/timeline': { get: op('Drift of the logged traffic per time window (≤ 24 windows, newest 5 000 rows): the feature × window heatmap', ['Monitoring'], { parameters: [modelParam, query('window', 'span, default 1h'), query('windows', '1..24, default 12'), query('version', 'default: newest')] }) },
    '/ferry/v1/models/{model}/drift/histogram': { get: op('One feature\'s reference vs current distribution (20 bins; top 20 categories)', ['Monitoring'], { parameters: [modelParam, query('feature', 'column name'), query('window', 'span, default 1h'), query('version', 'default: newest')] }) },
    '/ferry/v1/traffic': { get: op('This server\'s live traffic from memory (≤ 300 s): requests, rows, latency percentiles, errors by code per model, version and source', ['Monitoring'], { parameters: [query('model', 'only this model'), query('seconds', '1..300'), query('step', 'seconds per point')] }) },
    '/ferry/v1/traffic/split': { get: op('Canary weights and shadow in force per served model, who set them, shadow outcomes', ['Monitoring'], { parameters: [query('model', 'only this model')] }) },
    '/ferry/v1/alerts': { get: op('Alert rules (webhook URLs left out) and recent firings with their deliveries', ['Monitoring'], { parameters: [query('model', 'only this model'), query('limit', 'firings, ≤ 200')] }) },
    '/ferry/v1/batch': { get: op('Batch runs (newest, ≤ 200) with status, progress and counts, and jobs with schedules', ['Batch and streams'], { parameters: [query('limit', 'runs, default 50')] }) },
    '/ferry/v1/streams': { get: op('Watched stream consumer groups (serve --watch-stream): lag, pending, consumers, newest dead letters with their reasons', ['Batch and streams']) },
    '/ferry/v1/features/{service}': { post: op('Online feature values of entities for a feature service (docs/features.md)', ['Features'], { parameters: [{ name: 'service', in: 'path', required: true, schema: { type: 'string' } }], requestBody: jsonBody('{"entities": [{"customer_id": 42}, …]}') }) },
    '/ferry/v1/models/{model}/edge-predictions': { post: op('Predictions an exported package made on a device (`ferry export --report-url`), in batches with the package\'s prediction ids, into the prediction log: {"version", "digest", "batches": [{"at", "latency_ms", "predictions": [{"prediction_id", "inputs", "outputs"}]}]}; answers {"logged"}', ['Monitoring'], { parameters: [modelParam], requestBody: jsonBody('Edge predictions') }) },
    '/v1/feedback': { post: op('Attach ground truth to logged predictions: {"prediction_id", "actual"} or a list; answers {"attached", "unknown", "rejected"}', ['Monitoring']) },
    '/ferry/v1/models/{model}/metrics': { get: op('Live metrics from ground truth with label coverage (?window=1h, since, until, last, version, task, output)', ['Monitoring'], { parameters: [modelParam] }) },
    '/ferry/v1/predictions/{id}': { get: op('One logged prediction by the id its answer carried (x-prediction-id): inputs, outputs, latency, confidence, ground truth', ['Monitoring'], { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] }) },
    '/ferry/v1/models/{model}/predictions': { get: op('The newest logged predictions of a window (?window, since, until, last, version, limit ≤ 1000, low_confidence, labelled); admin scope', ['Monitoring'], { parameters: [modelParam, query('window', 'span, e.g. 1h'), query('limit', '1..1000, default 20'), query('low_confidence', 'true: only flagged rows'), query('labelled', 'true/false: with or without ground truth')] }) },
    '/ferry/v1/models/{model}/attributions': { get: op('Mean |contribution| and share per input column over the explained, logged predictions (?window=1h, since, until, last, version)', ['Monitoring'], { parameters: [modelParam] }) },
    '/ferry/v1/models/{model}/drift': { get: op('Feature and prediction drift of the logged predictions against the version\'s reference profile (?window=1h | last=N, version, test, threshold, share); sets the ferry_drift_* gauges', ['Monitoring'], { parameters: [modelParam] }) },
    '/metrics': { get: op('Prometheus metrics', ['Operations']) },
    '/openapi.json': { get: op('This document', ['Operations']) },
  };
  for (const p of ['/v2/models/{model}', '/v2/models/{model}/ready', '/v2/models/{model}/infer']) {
    const item = paths[p] as Record<string, { parameters?: object[] }>;
    const copy: Record<string, object> = {};
    for (const [method, o] of Object.entries(item)) copy[method] = { ...o, parameters: [modelParam, versionParam] };
    paths[withVersion(p)] = copy;
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Ferry inference server', version, description: 'Open Inference Protocol v2 (REST), MLflow scoring protocol and KServe v1 over one scoring core.' },
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'Only when the server runs with --auth.' } },
      schemas: {
        Error: { type: 'object', properties: { error: { type: 'string' }, code: { type: 'string' } }, required: ['error'] },
        Tensor: { type: 'object', required: ['name', 'shape', 'datatype'], properties: { name: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } }, datatype: { type: 'string', enum: ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] }, parameters: { type: 'object' }, data: { type: 'array', items: {} } } },
        InferRequest: { type: 'object', required: ['inputs'], properties: { id: { type: 'string' }, parameters: { type: 'object' }, inputs: { type: 'array', items: { $ref: '#/components/schemas/Tensor' } }, outputs: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, parameters: { type: 'object' } } } } } },
      },
    },
  };
}
