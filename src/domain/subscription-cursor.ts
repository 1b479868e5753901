import { createHmac, timingSafeEqual } from 'node:crypto';
import { badInput } from '../errors.js';

/** What a cursor is bound to: CONTRACT.md says another caller's or another topic's cursor is refused. */
export interface CursorScope {
  readonly sub: string;
  readonly topic: string;
}

/** Partition -> the next offset to read there. */
export type CursorPositions = ReadonlyMap<number, bigint>;

interface CursorPayload {
  v: 1;
  s: string;
  t: string;
  /** [partition, next offset as decimal digits] */
  o: [number, string][];
}

const MAX_TOKEN_LENGTH = 16_384;

// A key of its own, so that a secret shared with e.g. JWT signing never signs the two kinds of token alike.
const cursorKey = (secret: string): Buffer => createHmac('sha256', secret).update('subscription-cursor/v1').digest();

const sign = (secret: string, payload: string): Buffer => createHmac('sha256', cursorKey(secret)).update(payload).digest();

/** A signed, base64url token `<payload>.<mac>` holding one position per partition. */
export function encodeCursor(secret: string, scope: CursorScope, positions: CursorPositions): string {
  const body: CursorPayload = {
    v: 1,
    s: scope.sub,
    t: scope.topic,
    o: [...positions].sort(([a], [b]) => a - b).map(([partition, offset]) => [partition, offset.toString()]),
  };
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${payload}.${sign(secret, payload).toString('base64url')}`;
}

/**
 * Verifies a cursor and returns its positions.
 * @throws AppError BAD_USER_INPUT when it is undecodable, tampered with, or bound to another caller or topic.
 */
export function decodeCursor(secret: string, token: string, scope: CursorScope): CursorPositions {
  const invalid = () => badInput('afterCursor is not a valid cursor', 'afterCursor');
  if (token.length > MAX_TOKEN_LENGTH) throw invalid();
  const [payload, mac, ...rest] = token.split('.');
  if (payload === undefined || mac === undefined || rest.length > 0) throw invalid();
  const expected = sign(secret, payload);
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();

  const body = parsePayload(payload);
  if (body === undefined) throw invalid();
  if (body.s !== scope.sub) throw badInput('afterCursor belongs to another subscriber', 'afterCursor');
  if (body.t !== scope.topic) throw badInput('afterCursor belongs to another topic', 'afterCursor');
  return new Map(body.o.map(([partition, offset]) => [partition, BigInt(offset)]));
}

function parsePayload(payload: string): CursorPayload | undefined {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const { v, s, t, o } = body as Record<string, unknown>;
  if (v !== 1 || typeof s !== 'string' || typeof t !== 'string' || !Array.isArray(o)) return undefined;
  const isPosition = (entry: unknown): entry is [number, string] =>
    Array.isArray(entry) &&
    entry.length === 2 &&
    Number.isSafeInteger(entry[0]) &&
    entry[0] >= 0 &&
    typeof entry[1] === 'string' &&
    /^\d{1,19}$/.test(entry[1]);
  return o.every(isPosition) ? { v, s, t, o } : undefined;
}
