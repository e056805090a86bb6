import { errorCatalog, ExitCode, GrpcStatus } from './errors.js';

const grpcName = new Map<number, string>(Object.entries(GrpcStatus).map(([k, v]) => [v, k]));

/** docs/errors.md, generated from the catalog (`npm run docs:errors`; a test checks it is current). */
export function renderErrorsDoc(): string {
  const rows = Object.entries(errorCatalog).map(([code, s]) =>
    `| \`${code}\` | ${s.http} | ${grpcName.get(s.grpc) ?? s.grpc} | ${s.exit} | ${s.retryable ? 'yes' : 'no'} | ${s.message.replace(/\|/g, '\\|')} |`);
  const exits = Object.entries(ExitCode).map(([name, n]) => `| ${n} | ${name} |`);
  return [
    '# Error codes',
    '',
    '<!-- Generated from src/core/errors.ts by `npm run docs:errors`; test/errors.test.ts fails when this page is stale. -->',
    '',
    'Every error Ferry reports carries one of these stable codes. The CLI prints',
    '`error <CODE>: <message>` on standard error (or `{"error": {"code", "message", "details"}}` with `--json`)',
    'and exits with the code in the *exit* column. Servers answer with the HTTP or gRPC status shown.',
    'Placeholders in braces are filled in with the names and values involved. *Retry* is the',
    'catalog\'s category: "yes" when trying again as it is can succeed (the failure is the system\'s),',
    '"no" when the request or input must change (a stream consumer sends those messages to its dead letters).',
    'A query parameter a server refuses is `FERRY_E_PARAMETER_INVALID`, named as the client wrote it;',
    '`FERRY_E_USAGE` is for command lines.',
    '',
    '| code | HTTP | gRPC | exit | retry | message |',
    '|---|---|---|---|---|---|',
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
