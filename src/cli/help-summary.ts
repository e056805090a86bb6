/**
 * What `ferry --help` lists for each top-level command — its help term and description — so the
 * top-level help needs no command module (each imports its own dependencies: every module at
 * once took ~1 s). `test/cli-help.test.ts` checks this table against the commands themselves:
 * regenerate it when a command's usage or description changes.
 */
export const COMMAND_SUMMARY: Readonly<Record<string, readonly [term: string, description: string]>> = {
  "register": ["register [options] <file>", "Register a model artifact as the next version of a model"],
  "inspect": ["inspect [options] <file>", "Show what a pickle or joblib file holds — every global it names (allowed or not), its arrays, its estimators — and whether Ferry can load it; nothing in the file is run and nothing is registered"],
  "models": ["models [options]", "List registered models (or show one)"],
  "versions": ["versions [options] <name>", "List the versions of a model"],
  "alias": ["alias", "Point names such as champion or challenger at versions"],
  "traffic": ["traffic", "Split a model's requests between versions (canary) and mirror them to another (shadow), for every server replica; recorded in the alias history"],
  "archive": ["archive [options] <ref>", "Archive a version: it stays stored but is no longer the latest (refused while an alias points at it)"],
  "delete": ["delete [options] <ref>", "Delete a version for good: its metadata, and its artifact if no other version uses it (refused while an alias points at it)"],
  "predict": ["predict [options] <ref>", "Score a data set once with a registered model (one-off deployment)"],
  "explain": ["explain [options] <ref>", "Explain a model's predictions per row: exact TreeSHAP for tree models, exact linear attributions, sampled Shapley values otherwise (docs/explain.md)"],
  "serve": ["serve [options]", "Serve registered models over HTTP (Open Inference Protocol v2, MLflow, KServe v1) and gRPC"],
  "shadow": ["shadow [options] <name>", "Summarise requests a server mirrored to a shadow version: agreement with the primary, errors, largest difference"],
  "apikey": ["apikey", "API keys for `ferry serve --auth` (stored hashed in the registry)"],
  "gc": ["gc [options]", "Remove stored artifacts that no version uses (left by a crash mid-registration) and unfinished writes"],
  "batch": ["batch", "Score files and tables in bulk: resumable runs, incremental jobs, schedules (see docs/batch.md)"],
  "scheduler": ["scheduler [options]", "Run scheduled batch jobs (`ferry batch job schedule`, batch.jobs in ferry.yaml) until SIGTERM/SIGINT"],
  "stream": ["stream", "Score event streams (Redis Streams, NATS JetStream, MQTT) in consumer groups, exactly once in effect"],
  "feedback": ["feedback [options]", "Attach ground truth (actual values) to logged predictions by prediction id; unknown ids are reported, not fatal"],
  "features": ["features", "The feature layer: declared features, an online store, point-in-time training sets (see docs/features.md)"],
  "monitor": ["monitor", "Watch served models: the prediction log, live metrics from ground truth, drift"],
  "profile": ["profile [options] <ref> [data]", "Store (with <data>) or show the reference profile of a model version: per-column statistics of its training/validation data and of its outputs, the baseline for drift"],
  "evaluate": ["evaluate [options] <model>", "Score a labelled data set with several versions of a model and print their quality metrics side by side"],
  "compare": ["compare [options] [ref-a] [ref-b]", "Say whether two model versions are equivalent on a data set (largest differences, agreement, the rows that differ most), or summarise the shadow pairs a server recorded (--shadow <model>)"],
  "promote": ["promote [options] <model> <version>", "Move an alias (e.g. champion) to a version only when every gate holds; the verdicts are recorded in the alias history"],
  "best": ["best [options] <model>", "Name the best version of a model by a registry metric (versions that are not archived)"],
  "alerts": ["alerts", "Alert rules (drift, live metric, error rate, p99 latency, attribution drift, feature staleness) evaluated periodically, delivered to webhooks, with history"],
  "export": ["export [options] <ref>", "Export a registered model for edge deployment: a self-contained package for Node or browsers, checked against the server"],
  "deploy": ["deploy", "Write deployment manifests for running Ferry on a platform"],
  "demo": ["demo [options]", "Register the bundled demo models into the current home, score a few rows, and with --serve serve them (what `npm start` runs)"],
};
