/**
 * Many graphql-ws subscriptions, in a process of their own so that opening thousands of them does not
 * saturate the load generator. Driven over IPC by the subscriber-scale scenario (`fork` with tsx):
 * `{ type: 'open', count }` opens more, `{ type: 'status' }` answers what is ready, `{ type: 'close' }` ends.
 * A subscription is ready when its first event arrived. Subscriptions take the setup's fields in turn (one field, or
 * half and half over two), and every tenth of each field's is durable (`subscriberId`).
 */
import type { Client } from 'graphql-ws';
import { gatewaySocket } from '../../examples/support/gateway-subscriptions.js';
import { subscribeField, type TopicField } from './topic-fields.js';

interface Setup {
  url: string;
  token: string;
  accountId: string;
  /** Subscriptions per websocket connection. */
  perConnection: number;
  /** New subscriptions opened per second. */
  perSecond: number;
  /** The declared fields subscribed to, in turn. */
  fields: TopicField[];
}

export type SwarmRequest = { type: 'open'; count: number; since?: string } | { type: 'status' } | { type: 'close' };
export interface SwarmStatus {
  type: 'status';
  open: number;
  ready: number;
  errors: number;
  /** subscribe -> first event of the subscriptions that became ready since the last open, in ms. */
  readyLatencies: number[];
}

const setup = JSON.parse(process.env.SWARM_SETUP ?? '{}') as Setup;
if (new URL(setup.url).hostname !== '127.0.0.1') throw new Error('the swarm connects to loopback only');

const clients: Client[] = [];
const unsubscribes: (() => void)[] = [];
let open = 0;
let ready = 0;
let errors = 0;
let latencies: number[] = [];

function clientFor(index: number): Client {
  const slot = Math.floor(index / setup.perConnection);
  let client = clients[slot];
  if (!client) {
    client = gatewaySocket(setup.url, setup.token, {
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => {
        errors++;
      },
    });
    clients[slot] = client;
  }
  return client;
}

function openOne(index: number, since: string | undefined) {
  const started = performance.now();
  let first = true;
  const fields = setup.fields.length;
  const variables = {
    filter: { accountId: setup.accountId },
    ...(Math.floor(index / fields) % 10 === 0 && { subscriberId: `swarm-${index}` }),
    ...(since && { since }),
  };
  unsubscribes.push(
    subscribeField(
      clientFor(index),
      setup.fields[index % fields] as TopicField,
      variables,
      () => {
        if (!first) return;
        first = false;
        ready++;
        latencies.push(performance.now() - started);
      },
      () => {
        errors++;
      },
    ),
  );
  open++;
}

process.on('message', (message: SwarmRequest) => {
  if (message.type === 'open') {
    latencies = [];
    const from = open;
    const started = Date.now();
    // Paced, as clients join in practice: a burst of thousands of connects at once only measures the listen backlog.
    const next = (i: number) => {
      if (i >= from + message.count) return;
      openOne(i, message.since);
      const due = started + ((i + 1 - from) * 1000) / setup.perSecond;
      setTimeout(() => next(i + 1), Math.max(0, due - Date.now()));
    };
    next(from);
  } else if (message.type === 'status') {
    const status: SwarmStatus = { type: 'status', open, ready, errors, readyLatencies: latencies };
    process.send?.(status);
  } else if (message.type === 'close') {
    for (const stop of unsubscribes) stop();
    Promise.all(clients.map((c) => c.dispose())).finally(() => process.exit(0));
  }
});
process.send?.({ type: 'started' });
