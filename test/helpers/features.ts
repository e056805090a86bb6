/** Generated feature data for the feature-layer tests: views with several timestamps per entity. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from './random.js';

export const DAY = 86_400_000;
/** The "now" of the generated data: every event is before it, and `--until` is it. */
export const UNTIL = Date.parse('2026-06-01T00:00:00Z');
export const DIABETES_COLUMNS = ['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6'] as const;

const ts = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/**
 * `patients.csv` for the diabetes model: for each input row (patient_id = row id) two or three
 * older events with other values, and the row's own values as the latest event before UNTIL;
 * one event after UNTIL (never loaded with `--until`). Stored features: age…s4 and `s5_raw`
 * (= s5 × 2, undone by the service's transform); s6 comes with the request.
 */
export function writePatients(dir: string, rows: readonly Record<string, number>[], seed = 7): string {
  const r = rng(seed);
  const lines = ['patient_id,event_time,age,sex,bmi,bp,s1,s2,s3,s4,s5_raw'];
  const line = (id: number, t: number, v: Record<string, number>) => lines.push([id, ts(t), v.age, v.sex, v.bmi, v.bp, v.s1, v.s2, v.s3, v.s4, (v.s5 as number) * 2].join(','));
  const noise = () => Object.fromEntries(DIABETES_COLUMNS.map((c) => [c, Math.round(r.normal() * 1000) / 10_000]));
  rows.forEach((row, id) => {
    const last = UNTIL - Math.floor(1 + r.uniform() * 5) * DAY;
    const older = 2 + Math.floor(r.uniform() * 2);
    for (let k = older; k >= 1; k--) line(id, last - k * 3 * DAY, noise());
    line(id, last, row);
    line(id, UNTIL + DAY, noise());
  });
  const path = join(dir, 'patients.csv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** The declarations of the diabetes example: one view, one service with a request-time column (s6) and a transform. */
export function patientsYaml(dir: string, source: string, extra = ''): string {
  const path = join(dir, 'features.yaml');
  writeFileSync(path, `entities: [{name: patient, key: patient_id}]
views:
  - name: patient_stats
    entity: patient
    source: {path: ${source}}
    timestamp: event_time
    features: [age, sex, bmi, bp, s1, s2, s3, s4, s5_raw]
    ttl: 3650d
services:
  - name: diabetes
    features: [age, sex, bmi, bp, s1, s2, s3, s4, patient_stats.s5_raw]
    transforms: {s5: "s5_raw / 2"}
${extra}`);
  return path;
}
