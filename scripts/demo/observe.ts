/** Reads what each downstream system did (its own state files) and how far behind its consumer group is. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { groupLag } from './system-state.js';
import type { SystemName } from './systems.js';

export interface Observed {
  /** Order ids of the distinct events applied (one per eventId). */
  orderIds: string[];
  /** Deliveries, repeats included (analytics: lines, as kafkajs repeats are dropped before writing). */
  delivered: number;
  lastEventAt: string | null;
  /** The system's own figure, in a few words. */
  figure: string;
  /** Figures the summary reports as numbers. */
  numbers: Record<string, number>;
}

interface SubscribedState {
  applied: Record<string, string>;
  delivered: number;
  lastEventAt: string | null;
  figure: Record<string, unknown>;
}

const readJson = <T>(path: string): T | undefined => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
};

function figureOf(name: SystemName, figure: Record<string, unknown>): Pick<Observed, 'figure' | 'numbers'> {
  if (name === 'topup') return { figure: `${figure.done} top-ups done`, numbers: { topUps: Number(figure.done) } };
  if (name === 'recon') {
    const { differences, checks, behind } = figure as { differences: number; checks: number; behind: number };
    const loud = differences > 0 ? `\u001b[1;31m${differences} DIFFERENCES\u001b[0m` : '0 differences';
    return { figure: `${loud}, ${checks} checks, ${behind} behind`, numbers: { differences, checks, behind } };
  }
  const totals = figure as Record<string, Record<string, string>>;
  const byCurrency: Record<string, bigint> = {};
  for (const row of Object.values(totals))
    for (const [currency, amount] of Object.entries(row)) byCurrency[currency] = (byCurrency[currency] ?? 0n) + BigInt(amount);
  const minute = Object.keys(totals).sort().at(-1);
  const last = minute ? Object.entries(totals[minute] ?? {}).map(([c, a]) => `${c} ${a}`) : [];
  return {
    figure: `${Object.keys(totals).length} min; ${minute?.slice(11) ?? '-'}: ${last.join(' ') || '-'}`,
    numbers: Object.fromEntries(Object.entries(byCurrency).map(([c, a]) => [`total${c}`, Number(a)])),
  };
}

export function observe(name: SystemName, stateDir: string): Observed {
  if (name === 'analytics') {
    const file = join(stateDir, 'analytics', 'orders.ndjson');
    const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    const parsed = lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as { orderId: string }];
      } catch {
        return [];
      }
    });
    return {
      orderIds: parsed.map((p) => p.orderId),
      delivered: lines.length,
      lastEventAt: lines.length > 0 ? statSync(file).mtime.toISOString() : null,
      figure: `${lines.length} lines written`,
      numbers: { lines: lines.length },
    };
  }
  const state = readJson<SubscribedState>(join(stateDir, name, 'state.json'));
  if (!state) return { orderIds: [], delivered: 0, lastEventAt: null, figure: '-', numbers: {} };
  return {
    orderIds: Object.values(state.applied),
    delivered: state.delivered,
    lastEventAt: state.lastEventAt,
    ...figureOf(name, state.figure),
  };
}

/** Lag of consumer groups: the topic's end offsets minus the group's committed ones. */
export class LagWatch {
  private admin: Admin;
  private connected = false;

  constructor(
    brokers: string[],
    private topic: string,
  ) {
    this.admin = new Kafka({
      clientId: 'demo-lag',
      brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 2000,
      retry: { retries: 0 },
    }).admin();
  }

  /** Lag per group (null: no offsets yet, see groupLag), or undefined when Kafka does not answer within 3 s. */
  async lag(groups: string[]): Promise<Record<string, number | null> | undefined> {
    const work = async () => {
      if (!this.connected) {
        await this.admin.connect();
        this.connected = true;
      }
      const ends = await this.admin.fetchTopicOffsets(this.topic);
      const result: Record<string, number | null> = {};
      for (const groupId of groups) {
        const [committed] = await this.admin.fetchOffsets({ groupId, topics: [this.topic] });
        result[groupId] = groupLag(ends, committed?.partitions ?? []);
      }
      return result;
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), 3000);
    });
    try {
      return await Promise.race([work(), timeout]);
    } catch {
      this.connected = false;
      await this.admin.disconnect().catch(() => {});
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.admin.disconnect();
  }
}
