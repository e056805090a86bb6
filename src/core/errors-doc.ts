import { errorCatalog, ExitCode, GrpcStatus } from './errors.js';

const grpcName = new Map<number, string>(Object.entries(GrpcStatus).map(([k, v]) => [v, k]));

/** docs/errors.md, generated from the catalog (`npm run docs:errors`; a test checks it is current). */
export function renderErrorsDoc(): string {
  const rows = Object.entries(errorCatalog).map(([code, s]) =>
    `| \`${code}\` | ${s.http} | ${grpcName.get(s.grpc) ?? s.grpc} | ${s.exit} | ${s.message.replace(/\|/g, '\\|')} |`);
  const exits = Object.entries(ExitCode).map(([name, n]) => `| ${n} | ${name} |`);
  return [
    '# Error codes',
    '',
    '<!-- Generated from src/core/errors.ts by `npm run docs:errors`; test/errors.test.ts fails when this page is stale. -->',
    '',
    'Every error Ferry reports carries one of these stable codes. The CLI prints',
    '`error <CODE>: <message>` on standard error (or `{"error": {"code", "message", "details"}}` with `--json`)',
    'and exits with the code in the *exit* column. Servers answer with the HTTP or gRPC status shown.',
    'Placeholders in braces are filled in with the names and values involved.',
    '',
    '| code | HTTP | gRPC | exit | message |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    '## CLI exit codes',
    '',
    '| exit | meaning |',
    '|---|---|',
    ...exits,
    '',
    `Exit code ${ExitCode.USAGE} is also used for command-line usage errors (unknown option, missing argument).`,
    '',
  ].join('\n');
}
