import { AggregatorRegistry, type Registry } from 'prom-client';
import { TrafficRecorder } from '../../monitoring/traffic.js';
import type { GroupMember, MetricsSnapshot, ProcessGroup, ServedChange } from '../process-group.js';
import { isToServer, type Answer, type Question, type ToPrimary } from './messages.js';

/** The slice of Node's IPC channel to the primary that a server process uses (`process` in a cluster worker). */
export interface PrimaryChannel {
  send(message: ToPrimary): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/**
 * This process as slot `slot` of a `ferry serve --processes N` group: questions to the other
 * processes go through the primary (`primary.ts`), which relays them and gathers the answers.
 * Slot 1 is the lead (a replacement of slot 1 takes the duties over).
 */
export function clusterGroup(slot: number, channel: PrimaryChannel): ProcessGroup {
  let next = 0;
  const waiting = new Map<number, (answers: readonly Answer[]) => void>();
  let member: GroupMember | undefined;
  channel.on('message', (m) => {
    if (!isToServer(m)) return;
    if (m.ferry === 'answers') {
      waiting.get(m.id)?.(m.answers);
      waiting.delete(m.id);
      return;
    }
    void answer(member, m.question).then(
      (a) => channel.send({ ferry: 'answer', id: m.id, answer: a }),
      () => channel.send({ ferry: 'answer', id: m.id, answer: null }),
    );
  });
  const ask = (question: Question, self: boolean): Promise<readonly Answer[]> => new Promise((resolve) => {
    const id = ++next;
    waiting.set(id, resolve);
    channel.send({ ferry: 'ask', id, question, self });
  });
  return {
    slot,
    lead: slot === 1,
    join(m) {
      member = m;
      return () => { member = undefined; };
    },
    async metrics(): Promise<Registry> {
      // Every process answers, this one included, so the snapshot of each is taken at the same moment.
      const answers = await ask({ kind: 'metrics' }, true);
      return AggregatorRegistry.aggregate(answers.filter((a): a is MetricsSnapshot => Array.isArray(a)));
    },
    async traffic(_own: TrafficRecorder, seconds: number): Promise<TrafficRecorder> {
      const merged = new TrafficRecorder();
      for (const a of await ask({ kind: 'traffic', seconds }, true)) if (a !== null && !Array.isArray(a)) merged.absorb(a);
      return merged;
    },
    async announce(change: ServedChange): Promise<void> {
      await ask({ kind: 'change', change }, false);
    },
    listening(info) {
      channel.send({ ferry: 'listening', http: info.http, grpc: info.grpc });
    },
  };
}

async function answer(member: GroupMember | undefined, question: Question): Promise<Answer> {
  // Not serving yet (still starting) or no longer (draining): nothing to count, nothing to apply.
  if (!member) return question.kind === 'metrics' ? [] : question.kind === 'traffic' ? { series: [] } : null;
  if (question.kind === 'metrics') return member.snapshot();
  if (question.kind === 'traffic') return member.traffic(question.seconds);
  await member.apply(question.change);
  return null;
}
