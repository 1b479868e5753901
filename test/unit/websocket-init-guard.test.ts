import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { shedAwaitingInit } from '../../src/transport/websocket-init-guard.js';
import { waitFor } from '../support/resources.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

/** A ws server on a free loopback port with the guard; its URL and how many messages it has read. */
async function guardedServer(max: number, timeoutMs: number) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const read = { messages: 0 };
  server.on('connection', (socket) => socket.on('message', () => read.messages++));
  const stop = shedAwaitingInit(server, { max, timeoutMs });
  cleanups.push(() => new Promise((resolve) => server.close(resolve)), stop);
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, read };
}

interface Client {
  readonly socket: WebSocket;
  closeCode?: number;
}

async function open(url: string): Promise<Client> {
  const client: Client = { socket: new WebSocket(url) };
  cleanups.push(() => client.socket.terminate());
  client.socket.on('close', (code) => {
    client.closeCode = code;
  });
  await new Promise((resolve) => client.socket.once('open', resolve));
  return client;
}

describe('sockets awaiting their first message', () => {
  it('should cut the oldest waiting socket when one more than the cap arrives, sparing those that spoke', async () => {
    const { url, read } = await guardedServer(2, 60_000);
    const spoke = await open(url);
    spoke.socket.send('{"type":"connection_init"}');
    const oldest = await open(url);
    const second = await open(url);
    await waitFor('the server to read the first message', () => (read.messages === 1 ? true : undefined));
    const third = await open(url);
    await waitFor('the oldest waiting socket to be cut', () => oldest.closeCode);
    expect(oldest.closeCode).toBe(1013);
    expect([spoke.closeCode, second.closeCode, third.closeCode]).toEqual([undefined, undefined, undefined]);
  });

  it('should cut a socket still silent past the timeout and its grace', async () => {
    const { url } = await guardedServer(10, 200);
    const silent = await open(url);
    const spoke = await open(url);
    spoke.socket.send('{"type":"connection_init"}');
    const begun = performance.now();
    await waitFor('the silent socket to be cut', () => silent.closeCode, 5000);
    expect(performance.now() - begun).toBeGreaterThanOrEqual(200);
    expect(spoke.closeCode).toBeUndefined();
  });
});
