/**
 * The one error catalog. Every error Ferry reports has a stable code from this table, a
 * message template a person can act on, the HTTP status and gRPC status it maps to, and
 * the CLI exit code. `docs/errors.md` lists the same table; test/errors.test.ts keeps the
 * two in sync.
 */

/** gRPC status codes used by the catalog (numeric values from grpc/status.proto). */
export const GrpcStatus = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** CLI exit codes, one per family of failure, so scripts can branch on them. */
export const ExitCode = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  BAD_INPUT: 4,
  INTEGRITY: 5,
  CONFLICT: 6,
  UNAVAILABLE: 7,
  STORAGE_FULL: 8,
} as const;

interface ErrorSpec {
  readonly http: number;
  readonly grpc: number;
  readonly exit: number;
  /** Template with `{param}` placeholders filled from the error's params. */
  readonly message: string;
  /**
   * Worth trying again as it is: the failure is the system's (unavailable, busy, internal), not
   * the request's. Bad input and bad usage are not. A stream consumer dead-letters what is not.
   */
  readonly retryable: boolean;
}

const spec = (http: number, grpc: number, exit: number, message: string): ErrorSpec => ({ http, grpc, exit, message, retryable: exit !== ExitCode.BAD_INPUT && exit !== ExitCode.USAGE });
const { INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED } = GrpcStatus;
const X = ExitCode;

export const errorCatalog = {
  FERRY_E_INTERNAL: spec(500, INTERNAL, X.INTERNAL, 'Internal error: {detail}. This is a bug in Ferry; please report it with the command you ran.'),
  FERRY_E_USAGE: spec(400, INVALID_ARGUMENT, X.USAGE, '{detail}'),
  FERRY_E_PARAMETER_INVALID: spec(400, INVALID_ARGUMENT, X.USAGE, '{name} is not valid: {detail}.'),
  FERRY_E_CONFIG_INVALID: spec(500, FAILED_PRECONDITION, X.USAGE, 'Invalid configuration: {detail}.'),

  FERRY_E_NAME_INVALID: spec(400, INVALID_ARGUMENT, X.USAGE, '{kind} name "{name}" is not valid: use 1-128 characters from letters, digits, ".", "_" and "-", starting with a letter or digit.'),
  FERRY_E_MODEL_REF_INVALID: spec(400, INVALID_ARGUMENT, X.USAGE, 'Model reference "{ref}" is not valid: use "name", "name:3" (a version number) or "name@alias".'),
  FERRY_E_MODEL_NOT_FOUND: spec(404, NOT_FOUND, X.NOT_FOUND, 'Model "{model}" is not registered. Run `ferry models` to list registered models.'),
  FERRY_E_VERSION_NOT_FOUND: spec(404, NOT_FOUND, X.NOT_FOUND, 'Model "{model}" has no version {version}. Run `ferry versions {model}` to list its versions.'),
  FERRY_E_ALIAS_NOT_FOUND: spec(404, NOT_FOUND, X.NOT_FOUND, 'Model "{model}" has no alias "{alias}". Run `ferry models show {model}` to list its aliases.'),
  FERRY_E_NO_LIVE_VERSION: spec(404, NOT_FOUND, X.NOT_FOUND, 'Model "{model}" has no version that is not archived. Refer to an archived version explicitly (e.g. "{model}:1") or register a new one.'),
  FERRY_E_ALIAS_IN_USE: spec(409, FAILED_PRECONDITION, X.CONFLICT, 'Version {version} of "{model}" cannot be {action}: alias(es) {aliases} point at it. Move the alias first (`ferry alias set {model} <alias> <version>`).'),
  FERRY_E_VERSION_ARCHIVED: spec(409, FAILED_PRECONDITION, X.CONFLICT, 'Version {version} of "{model}" is archived; an alias cannot point at it. Restore it first (`ferry archive {model}:{version} --restore`).'),
  FERRY_E_ALIAS_TARGET_INVALID: spec(400, INVALID_ARGUMENT, X.USAGE, 'Alias "{alias}" of "{model}" cannot point at {target}: that is a version of another model.'),
  FERRY_E_TRAFFIC_INVALID: spec(400, INVALID_ARGUMENT, X.USAGE, 'Invalid traffic setting: {detail}.'),
  FERRY_E_ROLLBACK_UNAVAILABLE: spec(409, FAILED_PRECONDITION, X.CONFLICT, 'Alias "{alias}" of "{model}" has no earlier version to roll back to.'),

  FERRY_E_REGISTRY_BUSY: spec(503, UNAVAILABLE, X.UNAVAILABLE, 'The registry is locked by another process and stayed locked for {timeoutMs} ms. Retry when the other Ferry command has finished, or raise FERRY_BUSY_TIMEOUT_MS.'),
  FERRY_E_REGISTRY_UNAVAILABLE: spec(503, UNAVAILABLE, X.UNAVAILABLE, 'Cannot open the registry at {location}: {detail}.'),
  FERRY_E_ARTIFACT_STORE_UNAVAILABLE: spec(503, UNAVAILABLE, X.UNAVAILABLE, 'The artifact store at {location} did not answer as expected: {detail}. Check its address, credentials and permissions.'),
  FERRY_E_REGISTRY_SCHEMA_NEWER: spec(500, FAILED_PRECONDITION, X.USAGE, 'The registry at {location} was migrated by a newer Ferry (migration "{migration}" is unknown to this version). Upgrade Ferry.'),

  FERRY_E_FILE_NOT_FOUND: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'File "{path}" does not exist or cannot be read.'),
  FERRY_E_ARTIFACT_FORMAT_UNKNOWN: spec(415, INVALID_ARGUMENT, X.BAD_INPUT, 'Cannot tell the model format of "{path}": {detail}. Supported formats: {formats}; pass --format to choose one.'),
  FERRY_E_ARTIFACT_FORMAT_UNSUPPORTED: spec(415, INVALID_ARGUMENT, X.BAD_INPUT, '"{path}" looks like {what}, which Ferry does not load: {hint}'),
  FERRY_E_ARTIFACT_INVALID: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, '"{path}" is not a valid {format} model: {detail}'),
  FERRY_E_ARTIFACT_MISSING: spec(500, DATA_LOSS, X.INTEGRITY, 'The artifact {digest} of {model} is missing from the artifact store at {location}. Restore it from backup or re-register the model.'),
  FERRY_E_ARTIFACT_INTEGRITY: spec(500, DATA_LOSS, X.INTEGRITY, 'The artifact of {model} failed its integrity check: expected sha256 {expected}, found {actual} ({size} bytes). The stored file was modified or truncated; it will not be loaded. Restore it or re-register the model.'),
  FERRY_E_STORAGE_FULL: spec(507, RESOURCE_EXHAUSTED, X.STORAGE_FULL, 'No space left while writing {what} to {location}. Free some disk space and retry; nothing was registered.'),
  FERRY_E_STORAGE_IO: spec(500, INTERNAL, X.INTERNAL, 'Cannot write {what} to {location}: {detail}.'),

  FERRY_E_RUNTIME_UNAVAILABLE: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'No runtime for model format "{format}". Supported formats: {formats}.'),
  FERRY_E_MODEL_OUTPUT_UNSUPPORTED: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'Output "{output}" of the model is not a tensor ({detail}); Ferry serves tensor outputs only. Re-export without it (e.g. skl2onnx options={"zipmap": False}).'),
  FERRY_E_PREDICTION_FAILED: spec(500, INTERNAL, X.INTERNAL, 'The {format} runtime failed to score {model}: {detail}'),

  FERRY_E_INPUT_FORMAT: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, '{source} is not valid {format}: {detail}'),
  FERRY_E_INPUT_EMPTY: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, '{source} holds no rows to score.'),
  FERRY_E_COLUMN_MISSING: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'Input "{input}" needs column(s) {columns}, which the data does not have. Columns present: {present}.'),
  FERRY_E_COLUMN_UNEXPECTED: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'Column(s) {columns} are not used by the model. Expected exactly: {expected}. Mark identifiers with --key, or drop the columns.'),
  FERRY_E_INPUT_MAPPING_REQUIRED: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'The model has several inputs ({inputs}) and no saved column mapping; pass --input-columns <input>=<col>,<col>,… once per input.'),
  FERRY_E_INPUT_MAPPING_INVALID: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'Invalid input mapping: {detail}'),
  FERRY_E_TENSOR_SHAPE: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'Input "{input}" expects {expected} but got {actual}.'),
  FERRY_E_VALUE_TYPE: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'Row {row}, column "{column}": expected {expected} but got {actual}.'),
  FERRY_E_VALUE_MISSING: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'Row {row}, column "{column}": a value is required ({expected}) but the cell is empty.'),
  FERRY_E_OUTPUT_UNKNOWN: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'The model has no output "{output}". Outputs: {outputs}.'),
  FERRY_E_INPUT_MISSING: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'The model needs input "{input}" ({expected}); the request has {present}.'),
  FERRY_E_INPUT_UNKNOWN: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'The model has no input "{input}". Its inputs: {inputs}.'),
  FERRY_E_DTYPE_MISMATCH: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'Input "{input}" must be {expected} but the request sent {actual}.'),

  FERRY_E_REQUEST_INVALID: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'Invalid {protocol} request: {detail}'),
  FERRY_E_MEDIA_TYPE: spec(415, INVALID_ARGUMENT, X.BAD_INPUT, 'Content type "{contentType}" is not accepted here; send {accepted}.'),
  FERRY_E_PAYLOAD_TOO_LARGE: spec(413, RESOURCE_EXHAUSTED, X.BAD_INPUT, 'The request body is larger than the limit of {limit} bytes (serve --body-limit).'),
  FERRY_E_ROUTE_NOT_FOUND: spec(404, UNIMPLEMENTED, X.NOT_FOUND, 'No endpoint {method} {path}. See GET /openapi.json for the endpoints this server has.'),
  FERRY_E_MODEL_NOT_SERVED: spec(404, NOT_FOUND, X.NOT_FOUND, 'Model "{model}" is not served here. Served models: {models}.'),
  FERRY_E_MODEL_NOT_READY: spec(503, UNAVAILABLE, X.UNAVAILABLE, 'Model {model} is not ready ({state}){reason}. Retry shortly or check GET /v2/repository/index.'),
  FERRY_E_QUEUE_FULL: spec(429, RESOURCE_EXHAUSTED, X.UNAVAILABLE, 'The request queue of {model} is full ({limit} waiting). Retry after {retryAfter} s or raise max_queue_size.'),
  FERRY_E_TIMEOUT: spec(504, DEADLINE_EXCEEDED, X.UNAVAILABLE, 'The request to {model} did not finish within {timeoutMs} ms.'),
  FERRY_E_SHUTTING_DOWN: spec(503, UNAVAILABLE, X.UNAVAILABLE, 'The server is shutting down; send the request to another instance.'),
  FERRY_E_SERVER_PROCESS_FAILED: spec(503, UNAVAILABLE, X.UNAVAILABLE, 'A server process of `ferry serve --processes` exited while starting (exit code {code}); its error is printed above, and the other processes were stopped.'),
  FERRY_E_API_KEY_NOT_FOUND: spec(404, NOT_FOUND, X.NOT_FOUND, 'There is no API key "{id}". Run `ferry apikey list` to see the keys.'),
  FERRY_E_UNAUTHENTICATED: spec(401, UNAUTHENTICATED, X.USAGE, 'An API key is required: send "Authorization: Bearer <key>" (create one with `ferry apikey create`).'),
  FERRY_E_FORBIDDEN: spec(403, PERMISSION_DENIED, X.USAGE, 'This API key lacks the "{scope}" scope needed for {action}.'),

  FERRY_E_DATA_FORMAT_UNKNOWN: spec(400, INVALID_ARGUMENT, X.USAGE, 'Cannot tell the data format of "{path}" from its name: use a file ending in {extensions}, or name the format ({how}).'),
  FERRY_E_COLUMN_CLASH: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'Column(s) {columns} have the same name as {what}; rename them in the data.'),
  FERRY_E_OUTPUT_FORMAT: spec(400, INVALID_ARGUMENT, X.USAGE, 'Cannot write "{path}": {detail}'),

  // --- runtimes: PMML, LightGBM, XGBoost ---
  FERRY_E_ARTIFACT_FORMAT_AMBIGUOUS: spec(415, INVALID_ARGUMENT, X.BAD_INPUT, 'Cannot tell the model format of "{path}": its content fits several formats ({matches}). Supported formats: {formats}; pass --format to choose one.'),
  FERRY_E_PMML_UNSUPPORTED: spec(422, UNIMPLEMENTED, X.BAD_INPUT, '"{path}" uses <{element}>: {detail}. Ferry\'s PMML evaluator does not implement it, so the model was not loaded rather than scored wrongly. See docs/pmml.md for what is supported.'),
  FERRY_E_PMML_INVALID: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, '"{path}" is not valid PMML: <{element}>: {detail}. Fix the document (or re-export it) and register it again.'),
  FERRY_E_PICKLE_GLOBAL_REFUSED: spec(422, INVALID_ARGUMENT, X.BAD_INPUT, '"{path}" references {global}, so Ferry stopped reading it: {why}. Nothing in the file was run. If the model is a scikit-learn estimator, see docs/sklearn.md for what loads; otherwise export it to ONNX or PMML.'),
  FERRY_E_PICKLE_LIMIT: spec(413, RESOURCE_EXHAUSTED, X.BAD_INPUT, '"{path}" exceeds Ferry\'s {limit} limit: {detail}. Nothing was allocated for it; a real model this large should be exported to ONNX.'),
  FERRY_E_SKLEARN_UNSUPPORTED: spec(422, UNIMPLEMENTED, X.BAD_INPUT, '"{path}": step "{step}" ({cls}) cannot be loaded: {detail}'),
  FERRY_E_REGISTRATION_MISMATCH: spec(422, FAILED_PRECONDITION, X.BAD_INPUT, 'Ferry\'s predictions for "{path}" differ from {expected}: {detail}. Nothing was registered.'),

  // --- batch ---
  FERRY_E_BATCH_SOURCE: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'Cannot read batch input {source}: {detail}'),
  FERRY_E_BATCH_SINK: spec(503, UNAVAILABLE, X.UNAVAILABLE, 'Cannot write batch output {sink}: {detail}'),
  FERRY_E_BATCH_COLUMN_CLASH: spec(400, INVALID_ARGUMENT, X.USAGE, 'Input column "{column}" clashes with the prediction id column a logged run adds to its output; rename the column, or run without logging predictions.'),
  FERRY_E_BATCH_LOCATION_INVALID: spec(400, INVALID_ARGUMENT, X.USAGE, 'Batch location {location} cannot be used: {detail}'),
  FERRY_E_BATCH_RUN_NOT_FOUND: spec(404, NOT_FOUND, X.NOT_FOUND, 'Batch run "{run}" does not exist. Run `ferry batch runs` to list runs.'),
  FERRY_E_BATCH_RUN_CONFLICT: spec(409, FAILED_PRECONDITION, X.CONFLICT, 'Batch run "{run}" already exists with other settings ({detail}). Resume it with `ferry batch resume {run}`, or pick another --run-id.'),
  FERRY_E_BATCH_LOCKED: spec(409, FAILED_PRECONDITION, X.CONFLICT, '{what} is already running (held by {owner} until {until}); a run or job never overlaps itself. Wait for it to finish, or retry after the lease expires if that process died.'),
  FERRY_E_BATCH_LEASE_LOST: spec(409, FAILED_PRECONDITION, X.CONFLICT, 'Batch run "{run}" lost its lease (now held by {owner}); this process stopped without writing more. Check `ferry batch runs`.'),
  FERRY_E_BATCH_REJECT_RATE: spec(422, FAILED_PRECONDITION, X.BAD_INPUT, 'Batch run "{run}" rejected {rejected} of {rows} row(s) ({rate}), more than --max-reject-rate {max}; the run failed and its output was not finalised. The rejected rows and their reasons are in {rejects}.'),
  FERRY_E_BATCH_JOB_NOT_FOUND: spec(404, NOT_FOUND, X.NOT_FOUND, 'Batch job "{job}" does not exist. Run `ferry batch job list` to list jobs.'),
  FERRY_E_BATCH_JOB_EXISTS: spec(409, FAILED_PRECONDITION, X.CONFLICT, 'Batch job "{job}" already exists. Delete it first (`ferry batch job delete {job}`) or pick another name.'),
  FERRY_E_BATCH_CRON_INVALID: spec(400, INVALID_ARGUMENT, X.USAGE, 'Invalid cron expression "{cron}": {detail}. Use five or six fields, e.g. "0 3 * * *" (daily at 03:00).'),

  // --- streaming ---
  FERRY_E_STREAM_URL_INVALID: spec(400, INVALID_ARGUMENT, X.USAGE, 'Stream URL "{url}" is not valid: {detail}. Use {forms}.'),
  FERRY_E_STREAM_UNAVAILABLE: spec(503, UNAVAILABLE, X.UNAVAILABLE, 'Cannot reach the {broker} broker at {location}: {detail}. Check that it is running and reachable.'),
  FERRY_E_STREAM_MESSAGE_INVALID: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'Stream message is not valid: {detail}. Send JSON {"id": "…", "inputs": {…}} or {"id": "…", "rows": [{…}, …]}.'),
  FERRY_E_STREAM_MAX_DELIVER: spec(500, INTERNAL, X.INTERNAL, 'Message "{id}" was delivered {attempts} times without being scored (last error: {detail}); it goes to the dead letters.'),

  // --- evaluation: prediction log, feedback, live metrics ---
  FERRY_E_PREDICTION_NOT_FOUND: spec(404, NOT_FOUND, X.NOT_FOUND, 'No logged prediction has id "{id}". Predictions are logged when their model\'s deployment logs them (log: in ferry.yaml, serve --log-predictions), and retention deletes old ones.'),

  // --- evaluation: profiles, drift, comparison, promotion, alerts ---
  FERRY_E_PROFILE_NOT_FOUND: spec(404, NOT_FOUND, X.NOT_FOUND, '{model}:{version} has no reference profile. Store one with `ferry profile {model}:{version} <data>` or `ferry register … --reference <data>`.'),
  FERRY_E_PROFILE_MISMATCH: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'Profiles of column "{column}" cannot be combined: {detail}.'),
  FERRY_E_DRIFT_NO_DATA: spec(400, FAILED_PRECONDITION, X.BAD_INPUT, 'No current data to test for drift: {detail}.'),
  FERRY_E_LABEL_MISSING: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'The label column "{label}" is not in the data. Columns present: {present}.'),
  FERRY_E_METRIC_UNAVAILABLE: spec(400, FAILED_PRECONDITION, X.BAD_INPUT, 'Metric "{metric}" is not known for {subject}. {hint}'),
  FERRY_E_GATE_INVALID: spec(400, INVALID_ARGUMENT, X.USAGE, 'Promotion gate "{gate}" is not valid: {detail}. Write "<metric> >= champion.<metric>", "<metric> >= 0.9" (also >, <=, <) or "no-drift".'),
  FERRY_E_PROMOTION_REFUSED: spec(409, FAILED_PRECONDITION, X.CONFLICT, '{model}:{version} was not promoted to @{alias}; failed gate(s): {failed}. The alias is unchanged.'),
  FERRY_E_ALERT_RULE_INVALID: spec(400, INVALID_ARGUMENT, X.USAGE, 'Alert rule is not valid: {detail}.'),
  FERRY_E_METRICS_UNREACHABLE: spec(503, UNAVAILABLE, X.UNAVAILABLE, 'Cannot read request counts from {url}: {detail}. Check the server address and that it is running.'),
  FERRY_E_ALERT_RULE_NOT_FOUND: spec(404, NOT_FOUND, X.NOT_FOUND, 'There is no alert rule "{rule}". Run `ferry alerts list` to see the rules.'),

  // --- hardening: limits on what a caller can make the server hold ---
  FERRY_E_WEBHOOK_REFUSED: spec(403, PERMISSION_DENIED, X.USAGE, 'Webhook {url} was not posted to: {reason}. Destinations are set by FERRY_WEBHOOK_ALLOW and FERRY_WEBHOOK_DENY (docs/security.md).'),
  FERRY_E_REQUEST_LIMIT: spec(413, RESOURCE_EXHAUSTED, X.BAD_INPUT, 'Invalid {protocol} request: it has {count} {what}, more than the limit of {limit}.'),

  // --- explanations ---
  FERRY_E_EXPORT_OPTIONS_INVALID: spec(400, INVALID_ARGUMENT, X.USAGE, 'Export options are not valid: {detail}'),
  FERRY_E_EDGE_CALL_INVALID: spec(400, INVALID_ARGUMENT, X.USAGE, 'This call to the exported model is not valid: {detail}.'),
  FERRY_E_EXPLAIN_UNSUPPORTED: spec(422, FAILED_PRECONDITION, X.BAD_INPUT, '{model} cannot be explained: {detail}. See docs/explain.md for which models get exact, linear or sampled explanations.'),
  FERRY_E_EXPLAIN_SPACE: spec(400, INVALID_ARGUMENT, X.USAGE, 'Output space "{space}" is not available for {model}: {detail}. Available: {spaces}.'),
  FERRY_E_EXPLAIN_BACKGROUND: spec(422, FAILED_PRECONDITION, X.BAD_INPUT, 'Explaining {model} needs background rows: {detail}. Pass --background <file>, or store a reference profile (`ferry profile {model} <data>`).'),

  // --- features: declarations, online store, lookups, training sets ---
  FERRY_E_FEATURES_INVALID: spec(400, INVALID_ARGUMENT, X.USAGE, 'Feature declarations are not valid: {detail}.'),
  FERRY_E_FEATURES_NOT_APPLIED: spec(404, NOT_FOUND, X.NOT_FOUND, 'No feature declarations have been applied to this registry. Run `ferry features apply features.yaml` first.'),
  FERRY_E_FEATURE_SERVICE_NOT_FOUND: spec(404, NOT_FOUND, X.NOT_FOUND, 'Feature service "{service}" is not declared. Declared services: {services}.'),
  FERRY_E_FEATURE_VIEW_NOT_FOUND: spec(404, NOT_FOUND, X.NOT_FOUND, 'Feature view "{view}" is not declared. Declared views: {views}.'),
  FERRY_E_ENTITY_KEY_MISSING: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'Feature service "{service}" looks features up by "{key}", which the input does not have. Send it with each row (columns present: {present}).'),
  FERRY_E_FEATURE_MISSING: spec(422, FAILED_PRECONDITION, X.BAD_INPUT, 'Feature "{feature}" of service "{service}" is {state} for {entity}, and its missing-value policy is reject. Materialise the view (`ferry features materialize {view}`) or change the policy.'),
  FERRY_E_FEATURE_STORE: spec(503, UNAVAILABLE, X.UNAVAILABLE, 'The online feature store ({store}) cannot be used: {detail}.'),
  FERRY_E_FEATURE_STALE: spec(503, UNAVAILABLE, X.UNAVAILABLE, 'Feature view(s) older than {max}: {views}. Check the source and run `ferry features materialize`.'),
  FERRY_E_FEATURE_SOURCE: spec(400, INVALID_ARGUMENT, X.BAD_INPUT, 'Cannot read the source of feature view "{view}": {detail}'),

  // --- edge export ---
  FERRY_E_EXPORT_UNSUPPORTED: spec(422, UNIMPLEMENTED, X.BAD_INPUT, 'Cannot export {model} ({format}) to --target {target}: {reason}'),
  FERRY_E_EXPORT_PARITY: spec(500, INTERNAL, X.INTERNAL, 'The {target} export of {model} does not give the server\'s predictions: {detail}. The export was not written; please report this with the model and the sample rows.'),
  FERRY_E_EXPORT_TOO_LARGE: spec(413, RESOURCE_EXHAUSTED, X.BAD_INPUT, 'The {target} export of {model} is {size} bytes gzipped, over --max-size {limit}. Nothing was written; raise the budget or export a smaller model.'),
  FERRY_E_EXPORT_QUANTIZE_DRIFT: spec(422, FAILED_PRECONDITION, X.BAD_INPUT, 'Quantizing {model} to int8 changes the label of {changed} of {rows} sample row(s) ({share}), over --max-label-change {limit} (largest change of a value {maxChange}). Nothing was written; export without --quantize, allow more with --max-label-change, or write it anyway with --force.'),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalog;
export type ErrorParams = Readonly<Record<string, string | number | boolean>>;

/** The one error type Ferry throws across module boundaries. */
export class FerryError extends Error {
  override readonly name = 'FerryError';
  readonly code: ErrorCode;
  readonly params: ErrorParams;

  constructor(code: ErrorCode, params: ErrorParams = {}, options?: { cause?: unknown }) {
    super(renderMessage(errorCatalog[code].message, params), options);
    this.code = code;
    this.params = params;
  }

  get httpStatus(): number { return errorCatalog[this.code].http; }
  get grpcStatus(): number { return errorCatalog[this.code].grpc; }
  get exitCode(): number { return errorCatalog[this.code].exit; }
  /** Worth retrying as it is (the catalog's category; see ErrorSpec.retryable). */
  get retryable(): boolean { return errorCatalog[this.code].retryable; }

  toJSON(): { code: ErrorCode; message: string; details: ErrorParams } {
    return { code: this.code, message: this.message, details: this.params };
  }
}

function renderMessage(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    const value = params[key];
    return value === undefined ? whole : String(value);
  });
}

/** Shorthand: `throw ferry('FERRY_E_MODEL_NOT_FOUND', { model })`. */
export function ferry(code: ErrorCode, params: ErrorParams = {}, cause?: unknown): FerryError {
  return new FerryError(code, params, cause === undefined ? undefined : { cause });
}

export function isFerryError(err: unknown, code?: ErrorCode): err is FerryError {
  return err instanceof FerryError && (code === undefined || err.code === code);
}

/** Any thrown value as a FerryError; unknown errors become FERRY_E_INTERNAL with their message. */
export function asFerryError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return ferry('FERRY_E_INTERNAL', { detail }, err);
}

/** Quote a list of names for messages: `"a", "b"`. */
export function quoteList(names: readonly string[], max = 12): string {
  const shown = names.slice(0, max).map((n) => `"${n}"`).join(', ');
  return names.length > max ? `${shown} … (${names.length} in all)` : shown || '(none)';
}
