import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { ApiKeyStore, type ApiScope } from '../../serving/api-key-store.js';
import { newApiKey } from '../../serving/auth.js';
import { collectList, print, printJson, table, wantsJson, withFerry, type CliContext } from '../context.js';

const SCOPES: readonly ApiScope[] = ['predict', 'feedback', 'admin'];

export function apikeyCommand(program: Command, ctx: CliContext): void {
  const apikey = program.command('apikey').description('API keys for `ferry serve --auth` (stored hashed in the registry)');

  apikey.command('create')
    .description('Create a key and print it once (it cannot be shown again)')
    .requiredOption('--name <name>', 'what the key is for, e.g. "checkout-service"')
    .option('--scope <scope>', 'predict (inference and metadata), feedback (ground truth for logged predictions) or admin (everything, also alias moves and repository load/unload); repeatable', collectList)
    .option('--no-store', 'do not store the key in the registry: print a line for a keys file (`serve --api-keys-file`, a Kubernetes Secret)')
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; scope?: string[]; store?: boolean }, cmd: Command) => {
      const scopes = [...new Set(opts.scope ?? ['predict'])];
      const unknown = scopes.find((s) => !SCOPES.includes(s as ApiScope));
      if (unknown) throw ferry('FERRY_E_USAGE', { detail: `Unknown scope "${unknown}"; use predict, feedback or admin.` });
      const { id, key, hash } = newApiKey();
      if (opts.store === false) {
        if (wantsJson(cmd)) return printJson(ctx, { id, name: opts.name, scopes, key });
        return print(ctx, `${key} ${scopes.join(',')}  # ${opts.name.replace(/[\r\n]/g, ' ')}`);
      }
      await withFerry(ctx, (app, config) => new ApiKeyStore(app.database).create({
        id, name: opts.name, hash, scopes: scopes as ApiScope[], createdBy: config.actor, createdAt: new Date().toISOString(),
      }));
      if (wantsJson(cmd)) return printJson(ctx, { id, name: opts.name, scopes, key });
      print(ctx, `${key}\n(key ${id}, scopes ${scopes.join(', ')}: store it now; only its hash is kept. Send it as "Authorization: Bearer <key>".)`);
    });

  apikey.command('list')
    .description('List keys (never the keys themselves)')
    .option('--json', 'print JSON')
    .action(async (_o: unknown, cmd: Command) => {
      const keys = await withFerry(ctx, (app) => new ApiKeyStore(app.database).list());
      const rows = keys.map(({ hash: _hash, ...k }) => k);
      if (wantsJson(cmd)) return printJson(ctx, rows);
      if (rows.length === 0) return print(ctx, 'No API keys. Create one: ferry apikey create --name <who> --scope predict');
      print(ctx, table(['id', 'name', 'scopes', 'created by', 'created at', 'revoked at'], rows.map((k) => [k.id, k.name, k.scopes.join(','), k.createdBy, k.createdAt, k.revokedAt ?? '-'])));
    });

  apikey.command('revoke')
    .description('Revoke a key (servers stop accepting it within their poll interval)')
    .argument('<id>', 'the key id shown by `ferry apikey list`')
    .option('--json', 'print JSON')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const key = await withFerry(ctx, (app) => new ApiKeyStore(app.database).revoke(id));
      const { hash: _hash, ...shown } = key;
      if (wantsJson(cmd)) return printJson(ctx, shown);
      print(ctx, `Revoked ${key.id} (${key.name})`);
    });
}
