/** Reads what each downstream system did (its own state files) and how far behind its consumer group is. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { combinedLag, groupLag, retained } from './system-state.js';
import type { SystemName } from './systems.js';

export interface Observed {
  /** Order ids of the distinct events applied (one per eventId); notify: the orders whose customer it told "charged". */
  orderIds: string[];
  /** notify: the orders whose top-up outcome it has (told, or held until the charge); [] for the others. */
  topUpOrderIds: string[];
  /** Deliveries, repeats included (analytics: lines, as kafkajs repeats are dropped before writing). */
  delivered: number;
  lastEventAt: string | null;
  /** The system's own figure, in a few words. */
  figure: string;
  /** Figures the summary reports as numbers. */
  numbers: Record<string, number>;
}

/** What the demo expects of a system, and finds in it, as keys: an order's id, and `topUpKey(id)` for its top-up's outcome. */
export const topUpKey = (orderId: string): string => `top-up ${orderId}`;
export const seenKeys = (observed: Observed): string[] => [...observed.orderIds, ...observed.topUpOrderIds.map(topUpKey)];

interface SubscribedState {
  applied: Record<string, string>;
  delivered: number;
  lastEventAt: string | null;
  figure: Record<string, unknown>;
}

interface NotifyFigure {
  orders?: Record<string, { charged: boolean; topUp?: string }>;
}

const readJson = <T>(path: string): T | undefined => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
};

function figureOf(name: SystemName, figure: Record<string, unknown>): Pick<Observed, 'figure' | 'numbers'> {
  if (name === 'topup') {
    const done = Number(figure.done ?? 0);
    const failed = Number(figure.failed ?? 0);
    return { figure: `${done} top-ups done, ${failed} failed`, numbers: { topUps: done + failed, done, failed } };
  }
  if (name === 'notify') {
    const { charged, toppedUp, topUpFailed, held } = figure as Record<'charged' | 'toppedUp' | 'topUpFailed' | 'held', number>;
    return {
      figure: `${charged} charged, ${toppedUp} topped up, ${topUpFailed} top-ups failed${held > 0 ? `, ${held} held` : ''}`,
      numbers: { charged, toppedUp, topUpFailed, held },
    };
  }
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
      topUpOrderIds: [],
      delivered: lines.length,
      lastEventAt: lines.length > 0 ? statSync(file).mtime.toISOString() : null,
      figure: `${lines.length} lines written`,
      numbers: { lines: lines.length },
    };
  }
  const state = readJson<SubscribedState>(join(stateDir, name, 'state.json'));
  if (!state) return { orderIds: [], topUpOrderIds: [], delivered: 0, lastEventAt: null, figure: '-', numbers: {} };
  // notify's events are about orders twice (the charge and the top-up): what it told is in its figure.
  const told = name === 'notify' ? Object.entries((state.figure as NotifyFigure).orders ?? {}) : undefined;
  return {
    orderIds: told ? told.filter(([, o]) => o.charged).map(([id]) => id) : Object.values(state.applied),
    topUpOrderIds: told ? told.filter(([, o]) => o.topUp !== undefined).map(([id]) => id) : [],
    delivered: state.delivered,
    lastEventAt: state.lastEventAt,
    ...figureOf(name, state.figure),
  };
}

/** A consumer group and the topics it reads (notify's one group reads two). */
export interface WatchedGroup {
  group: string;
  topics: readonly string[];
}

/** Lag of consumer groups: the topics' end offsets minus the group's committed ones. */
export class LagWatch {
  private admin: Admin;
  private connected = false;

  constructor(brokers: string[]) {
    this.admin = new Kafka({
      clientId: 'demo-lag',
      brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 2000,
      retry: { retries: 0 },
    }).admin();
  }

  /** Lag per group over its topics (null: no offsets yet, see combinedLag), or undefined when Kafka does not answer within 3 s. */
  async lag(groups: readonly WatchedGroup[]): Promise<Record<string, number | null> | undefined> {
    const work = async () => {
      if (!this.connected) {
        await this.admin.connect();
        this.connected = true;
      }
      const topics = [...new Set(groups.flatMap((g) => g.topics))];
      const ends = new Map(await Promise.all(topics.map(async (t) => [t, await this.admin.fetchTopicOffsets(t)] as const)));
      const result: Record<string, number | null> = {};
      for (const { group, topics: read } of groups) {
        const committed = await this.admin.fetchOffsets({ groupId: group, topics: [...read] });
        result[group] = combinedLag(
          read.map((topic) => {
            const end = ends.get(topic) ?? [];
            return { lag: groupLag(end, committed.find((c) => c.topic === topic)?.partitions ?? []), retained: retained(end) };
          }),
        );
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
