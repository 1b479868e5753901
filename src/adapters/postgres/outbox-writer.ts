import { sql } from 'drizzle-orm';
import type { Db } from './database.js';
import { outbox } from './schema.js';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** The channel the relay LISTENs on; NOTIFY is delivered only when the transaction commits. */
export const OUTBOX_CHANNEL = 'outbox_pending';

export interface OutboxRecord {
  readonly eventId: string;
  readonly topic: string;
  readonly key: string;
  readonly value: unknown;
}

/** Adds a record to the outbox inside the caller's transaction and wakes the relay at commit. */
export async function writeToOutbox(tx: Tx, record: OutboxRecord): Promise<void> {
  await tx.insert(outbox).values(record);
  await tx.execute(sql`select pg_notify(${OUTBOX_CHANNEL}, '')`);
}
