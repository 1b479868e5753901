import type { CursorPositions } from '../../domain/subscription-cursor.js';

/**
 * Where the subscription stands on every partition (the next offset to read),
 * and the cursor that resumes right after a given record.
 */
export class SubscriptionPositions {
  readonly #next: Map<number, bigint>;
  readonly #sign: (positions: CursorPositions) => string;

  constructor(start: CursorPositions, sign: (positions: CursorPositions) => string) {
    this.#next = new Map(start);
    this.#sign = sign;
  }

  /** The record at `offset` was delivered or skipped. */
  advance(partition: number, offset: string): void {
    this.#next.set(partition, BigInt(offset) + 1n);
  }

  /** Every other partition where it stands now; this one right after the record. */
  cursorAfter(partition: number, offset: string): string {
    const positions = new Map(this.#next);
    positions.set(partition, BigInt(offset) + 1n);
    return this.#sign(positions);
  }
}
