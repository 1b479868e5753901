import { badInput } from '../../errors.js';

/** Opaque `orders` page cursors: the order's settlement sequence number. */
export const encodePageCursor = (seq: bigint): string => Buffer.from(`o:${seq}`).toString('base64url');

export function decodePageCursor(cursor: string): bigint {
  const match = /^o:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString());
  const seq = match?.[1] ? BigInt(match[1]) : undefined;
  // PostgreSQL's bigint ends at 2^63 - 1; a larger number would fail in the query instead.
  if (seq === undefined || seq > 2n ** 63n - 1n) throw badInput('after must be an endCursor returned by a previous page', 'after');
  return seq;
}
