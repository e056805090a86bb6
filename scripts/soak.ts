/**
 * `npm run soak`: ten minutes (or --minutes N) of mixed traffic against one `ferry serve` on
 * 127.0.0.1, then a table of what happened and a verdict against the promises in
 * docs/reliability.md: no answer outside 2xx/4xx, every stream message answered once, RSS growth
 * under 5 % after warm-up, no file descriptor or thread growth. Exit code 1 when one is broken.
 */
import { parseArgs } from 'node:util';
import { soak, verdict } from './soak/soak.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'warmup-seconds': { type: 'string', default: '60' },
    'alias-every-seconds': { type: 'string', default: '30' },
    'batch-every-seconds': { type: 'string', default: '60' },
    clients: { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
  },
});

const report = await soak({
  durationMs: Number(values.minutes) * 60_000,
  warmupMs: Number(values['warmup-seconds']) * 1000,
  aliasEveryMs: Number(values['alias-every-seconds']) * 1000,
  batchEveryMs: Number(values['batch-every-seconds']) * 1000,
  clients: Number(values.clients),
  progress: (line) => process.stderr.write(`${line}\n`),
});
const broken = verdict(report);
if (values.json) {
  process.stdout.write(`${JSON.stringify({ ...report, broken })}\n`);
} else {
  const total = Object.values(report.requests).reduce((a, b) => a + b, 0);
  const rows: [string, string][] = [
    ['duration', `${report.seconds} s`],
    ['requests', `${total} (${Object.entries(report.requests).map(([k, v]) => `${k} ${v}`).join(', ')})`],
    ['failures (5xx, transport)', String(report.failures)],
    ['bad requests not refused with 4xx', String(report.wrongRefusals)],
    ['alias moves', String(report.aliasMoves)],
    ['batch runs (failed)', `${report.batchRuns} (${report.batchFailures})`],
    ['stream sent / outputs / duplicates / missing', `${report.stream.sent} / ${report.stream.outputs} / ${report.stream.duplicates} / ${report.stream.missing}`],
    ['RSS after warm-up → end', `${report.rssMb.afterWarmup} → ${report.rssMb.end} MB (${report.rssMb.growthPct} %; promise < 5 %)`],
    ['file descriptors after warm-up → end', `${report.fds.afterWarmup} → ${report.fds.end}`],
    ['threads after warm-up → end', `${report.threads.afterWarmup} → ${report.threads.end}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  console.log(broken.length === 0 ? 'PASS' : `FAIL:\n  ${broken.join('\n  ')}`);
}
process.exitCode = broken.length === 0 ? 0 : 1;
