/** Run a test body against each registry database: a SQLite home, then a PostgreSQL schema of its own. */
import { join } from 'node:path';
import { pgSchema, tempDir } from './env.js';

export interface StoreEnv {
  readonly name: 'sqlite' | 'postgres';
  /** Environment for `ferry` processes (FERRY_HOME, FERRY_DATABASE_URL). */
  readonly env: Record<string, string>;
  readonly dir: string;
  cleanup(): Promise<void>;
}

export async function storeEnvs(): Promise<StoreEnv[]> {
  const a = tempDir('ferry-e2-');
  const b = tempDir('ferry-e2-');
  const pg = await pgSchema('ferry_e2');
  return [
    { name: 'sqlite', dir: a.dir, env: { FERRY_HOME: join(a.dir, 'home'), FERRY_ACTOR: 'tester' }, cleanup: () => Promise.resolve(a.cleanup()) },
    { name: 'postgres', dir: b.dir, env: { FERRY_HOME: join(b.dir, 'home'), FERRY_DATABASE_URL: pg.url, FERRY_ACTOR: 'tester' }, cleanup: async () => { b.cleanup(); await pg.cleanup(); } },
  ];
}
