import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { describeTraffic } from '../../registry/traffic.js';
import type { AliasEvent, TrafficRoute } from '../../registry/types.js';
import { print, printJson, wantsJson, withRegistry, type CliContext } from '../context.js';

interface SetOptions {
  canary?: string[];
  shadow?: string;
  shadowShare: string;
}

/**
 * `ferry traffic`: a model's canary split and shadow mirror, kept in the registry so every
 * server replica applies the same (in place of the model's canary:/shadow: in ferry.yaml).
 */
export function trafficCommand(program: Command, ctx: CliContext): void {
  const traffic = program.command('traffic').description('Split a model\'s requests between versions (canary) and mirror them to another (shadow), for every server replica; recorded in the alias history');
  const done = (cmd: Command, event: AliasEvent, verb: string) => (wantsJson(cmd) ? printJson(ctx, event) : print(ctx, `${verb} ${event.model}: ${event.note ?? ''}`));

  traffic.command('set')
    .description('Set a model\'s traffic: requests without a version go to the canary targets by weight, and a share of them is mirrored to the shadow target. What is not given is off; servers apply it on their next registry poll (at once on PostgreSQL, and on the server that takes it through its API)')
    .argument('<name>', 'model name')
    .option('--canary <target=weight>', 'a canary route: latest, an alias or a version number, and its weight (repeat: --canary champion=90 --canary challenger=10)', collect)
    .option('--shadow <target>', 'mirror routed requests to this pointer (latest, an alias or a version number)')
    .option('--shadow-share <0..1>', 'the share of routed requests mirrored', '1')
    .option('--json', 'print the recorded change as JSON')
    .action(async (name: string, opts: SetOptions, cmd: Command) => {
      if (!opts.canary && !opts.shadow) throw ferry('FERRY_E_USAGE', { detail: 'Give --canary <target=weight> (repeatable) and/or --shadow <target>; `ferry traffic clear` removes the setting.' });
      const share = Number(opts.shadowShare);
      const spec = { canary: opts.canary ? opts.canary.map(parseRoute) : null, shadow: opts.shadow ? { target: opts.shadow, share } : null };
      const event = await withRegistry(ctx, (app, config) => app.registry.setTraffic(name, spec, config.actor));
      done(cmd, event, 'Traffic of');
    });

  traffic.command('clear')
    .description('Remove a model\'s traffic setting: the canary and shadow of ferry.yaml apply again')
    .argument('<name>', 'model name')
    .option('--json', 'print the recorded change as JSON')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const event = await withRegistry(ctx, (app, config) => app.registry.setTraffic(name, null, config.actor));
      done(cmd, event, 'Traffic of');
    });

  traffic.command('show')
    .description('Show a model\'s traffic setting in the registry (none: ferry.yaml applies)')
    .argument('<name>', 'model name')
    .option('--json', 'print JSON (null when there is none)')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const setting = await withRegistry(ctx, async (app) => {
        if (!(await app.registry.store.getModel(name))) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model: name });
        return app.registry.store.getTraffic(name);
      });
      if (wantsJson(cmd)) return printJson(ctx, setting ?? null);
      print(ctx, setting ? `${name}: ${describeTraffic(setting)} (set by ${setting.updatedBy} at ${setting.updatedAt})` : `${name}: no traffic setting in the registry; ferry.yaml's canary and shadow apply.`);
    });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `champion=90` → {target: 'champion', weight: 90}. */
function parseRoute(text: string): TrafficRoute {
  const m = /^([^=]+)=(.+)$/.exec(text);
  const weight = Number(m?.[2]);
  if (!m?.[1] || !Number.isFinite(weight)) throw ferry('FERRY_E_USAGE', { detail: `--canary "${text}": use <target>=<weight>, e.g. champion=90.` });
  return { target: m[1], weight };
}
