import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { answerIfDraining, createDrainState, type DrainPhase } from '../../src/transport/drain.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A node:http server that answers 200 unless `answerIfDraining` answered first, in the given phase. */
async function serverIn(phase: DrainPhase): Promise<string> {
  const state = createDrainState();
  if (phase !== 'serving') state.enter(phase);
  server = createServer((request, response) => {
    if (!answerIfDraining(state, request, response)) response.end('served');
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('answerIfDraining', () => {
  it('should leave a serving gateway alone', async () => {
    const response = await fetch(`${await serverIn('serving')}/graphql`, { method: 'POST' });
    expect([response.status, await response.text(), response.headers.get('connection')]).toEqual([200, 'served', 'keep-alive']);
  });

  it('should serve while draining, with Connection: close', async () => {
    const response = await fetch(`${await serverIn('draining')}/graphql`, { method: 'POST' });
    expect([response.status, await response.text(), response.headers.get('connection')]).toEqual([200, 'served', 'close']);
  });

  it('should answer /graphql with 503 SHUTTING_DOWN and Retry-After once closing, and serve other paths', async () => {
    const base = await serverIn('closing');
    const refused = await fetch(`${base}/graphql?x=1`, { method: 'POST' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('SHUTTING_DOWN');
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.text(), health.headers.get('connection')]).toEqual([200, 'served', 'close']);
  });
});
