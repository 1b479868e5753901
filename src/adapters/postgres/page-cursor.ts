import { badInput } from '../../errors.js';

/** Opaque `orders` page cursors: the order's settlement sequence number. */
export const encodePageCursor = (seq: bigint): string => Buffer.from(`o:${seq}`).toString('base64url');

export function decodePageCursor(cursor: string): bigint {
  const match = /^o:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match?.[1]) throw badInput('after must be an endCursor returned by a previous page', 'after');
  return BigInt(match[1]);
}
