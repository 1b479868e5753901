import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../errors.js';
import { sendJson } from './send-json.js';

/**
 * Where a gateway stands on its way out. `draining` (from SIGTERM, for DRAIN_DELAY_MS): /readyz answers 503 and new
 * websockets are refused, so a load balancer stops sending work here, while HTTP requests are still served.
 * `closing`: subscriptions are completed and their sockets closed; a request still arriving on a kept-alive
 * connection gets 503 SHUTTING_DOWN.
 */
export type DrainPhase = 'serving' | 'draining' | 'closing';

export interface DrainState {
  readonly phase: DrainPhase;
  /** Moves forward only: serving -> draining -> closing. */
  enter(phase: Exclude<DrainPhase, 'serving'>): void;
}

const ORDER: readonly DrainPhase[] = ['serving', 'draining', 'closing'];

export function createDrainState(): DrainState {
  let phase: DrainPhase = 'serving';
  return {
    get phase() {
      return phase;
    },
    enter(next) {
      if (ORDER.indexOf(next) > ORDER.indexOf(phase)) phase = next;
    },
  };
}

const SHUTTING_DOWN: ErrorCode = 'SHUTTING_DOWN';
export const SHUTTING_DOWN_MESSAGE = 'this gateway instance is shutting down: retry, and the request reaches another instance';

/** The answer to a websocket upgrade while the gateway drains (written to the raw socket). */
export const REFUSED_UPGRADE = [
  'HTTP/1.1 503 Service Unavailable',
  'Connection: close',
  'Retry-After: 1',
  'Content-Type: text/plain; charset=utf-8',
  '',
  `${SHUTTING_DOWN_MESSAGE}\n`,
].join('\r\n');

/**
 * What draining does to an HTTP request: each response carries `Connection: close`, so kept-alive clients (and
 * proxies) open their next connection elsewhere; once closing, /graphql is answered with 503 here. True when answered.
 */
export function answerIfDraining(state: DrainState, request: IncomingMessage, response: ServerResponse): boolean {
  if (state.phase === 'serving') return false;
  response.setHeader('Connection', 'close');
  if (state.phase !== 'closing' || !(request.url ?? '').startsWith('/graphql')) return false;
  response.setHeader('Retry-After', '1');
  sendJson(response, 503, { errors: [{ message: SHUTTING_DOWN_MESSAGE, extensions: { code: SHUTTING_DOWN } }] });
  return true;
}
