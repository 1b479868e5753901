import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import { applyMigrations } from '../../src/adapters/postgres/migrate.js';
import { createScratchDatabase, type ScratchDatabase, uniqueName } from '../../test/support/scratch.js';
import type { Machine } from './results.js';

export { uniqueName };

/** An empty, migrated database of its own; drop() removes it. */
export async function migratedScratchDatabase(adminDatabaseUrl: string, prefix = 'gkg_bench'): Promise<ScratchDatabase> {
  const database = await createScratchDatabase(adminDatabaseUrl, prefix);
  try {
    await applyMigrations(database.url);
  } catch (error) {
    await database.drop().catch(() => {});
    throw error;
  }
  return database;
}

export const kafkaClient = (brokers: string) => new Kafka({ brokers: brokers.split(','), clientId: 'bench', logLevel: logLevel.NOTHING });

/** Deletes topics and the consumer groups whose names start with `groupPrefix`; a missing one is no failure. */
export async function removeKafkaResources(brokers: string, topics: string[], groupPrefix?: string): Promise<void> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    if (groupPrefix) {
      const { groups } = await admin.listGroups();
      const ours = groups.map((g) => g.groupId).filter((g) => g.startsWith(groupPrefix));
      if (ours.length > 0) await admin.deleteGroups(ours).catch(() => {});
    }
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

export function machine(): Machine {
  const list = cpus();
  return {
    cores: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    node: process.versions.node,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** The machine's 1-minute load average, for a scenario's notes: on a shared machine it says how far to trust a figure. */
export const loadNote = (when: string): string => `Load average (1 min) ${when}: ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores.`;

/** The commit the run measured, with "+dirty" when the work tree has changes. */
export function gitCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${commit}+dirty` : commit;
  } catch {
    return 'unknown';
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every `everyMs` until it returns true or `timeoutMs` passes; resolves with whether it did. */
export async function pollUntil(probe: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
}
