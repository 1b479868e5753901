import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/postgres/database.js';
import { createTestDatabase } from '../support/resources.js';
import type { ScratchDatabase } from '../support/scratch.js';

let database: ScratchDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(() => database.drop());

/** Socket writes that reached the kernel (one per `_write` or `_writev`) while `run` ran, and its result. */
async function countingWrites<T>(run: () => Promise<T>): Promise<{ writes: number; result: T }> {
  const prototype = Socket.prototype as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  const original = { _write: prototype._write, _writev: prototype._writev };
  let writes = 0;
  for (const name of ['_write', '_writev'] as const) {
    prototype[name] = function (this: unknown, ...args: unknown[]) {
      writes++;
      return original[name].apply(this, args);
    };
  }
  try {
    return { result: await run(), writes };
  } finally {
    Object.assign(prototype, original);
  }
}

describe('the request pool with writes coalesced', () => {
  it('should send the large statements of one turn in fewer writes than statements, each answered in order', async () => {
    const padding = 'x'.repeat(1500);
    const answers = async (coalesceWrites: boolean) => {
      const { sql, close } = openDatabase(database.url, { max: 1, coalesceWrites });
      try {
        await sql`select 1`;
        return await countingWrites(() =>
          Promise.all(
            Array.from({ length: 20 }, (_, i) => sql<{ n: number; size: number }[]>`select ${i}::int as n, length(${padding}) as size`),
          ),
        );
      } finally {
        await close();
      }
    };
    const plain = await answers(false);
    const coalesced = await answers(true);
    for (const { result } of [plain, coalesced]) {
      expect(result.map(([row]) => row?.n)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(result.every(([row]) => row?.size === padding.length)).toBe(true);
    }
    expect(plain.writes).toBeGreaterThanOrEqual(20);
    expect(coalesced.writes).toBeLessThan(5);
  });
});
