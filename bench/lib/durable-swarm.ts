/**
 * Durable graphql-ws subscriptions in a process of their own, for the durable-commits scenario: subscription i has
 * subscriberId `<subscriberPrefix>-<i>` (so a consumer group of its own) and filters orderSettled on account
 * `<accountPrefix>-<i mod accounts>`. Several share a websocket (`perConnection`). Driven over IPC (bench-child.ts):
 * `open` adds subscriptions at the setup's pace, `status` answers counts, `close` ends. Ready: the first event arrived.
 */
import type { Client } from 'graphql-ws';
import { gatewaySocket } from '../../examples/support/gateway-subscriptions.js';
import { accountOf, subscriberIdOf } from './durable-names.js';
import { ORDER_FIELD, subscribeField } from './topic-fields.js';

export interface DurableSwarmSetup {
  url: string;
  token: string;
  subscriberPrefix: string;
  accountPrefix: string;
  accounts: number;
  /** Subscriptions per websocket connection. */
  perConnection: number;
  /** New subscriptions opened per second. */
  perSecond: number;
}

/** `from`: the index of the first subscription to open (processes share one index space). */
export type DurableSwarmRequest = { type: 'open'; from: number; count: number } | { type: 'status' } | { type: 'close' };

export interface DurableSwarmStatus {
  type: 'status';
  open: number;
  ready: number;
  errors: number;
  firstError: string | null;
  /** Events received by every subscription of this process since it started. */
  received: number;
}

const setup = JSON.parse(process.env.DURABLE_SWARM_SETUP ?? '{}') as DurableSwarmSetup;
if (new URL(setup.url).hostname !== '127.0.0.1') throw new Error('the swarm connects to loopback only');

const clients: Client[] = [];
const unsubscribes: (() => void)[] = [];
let open = 0;
let ready = 0;
let errors = 0;
let received = 0;
let firstError: string | null = null;

function failed(reason: string) {
  errors++;
  firstError ??= reason;
}

function clientFor(slot: number): Client {
  let client = clients[slot];
  if (!client) {
    client = gatewaySocket(setup.url, setup.token, {
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: (error) => failed(`websocket: ${String(error)}`),
    });
    clients[slot] = client;
  }
  return client;
}

function openOne(index: number) {
  let first = true;
  const variables = {
    filter: { accountId: accountOf(setup.accountPrefix, setup.accounts, index) },
    subscriberId: subscriberIdOf(setup.subscriberPrefix, index),
  };
  unsubscribes.push(
    subscribeField(
      clientFor(Math.floor(open / setup.perConnection)),
      ORDER_FIELD,
      variables,
      () => {
        received++;
        if (!first) return;
        first = false;
        ready++;
      },
      (errs) => failed(JSON.stringify(errs).slice(0, 300)),
    ),
  );
  open++;
}

process.on('message', (message: DurableSwarmRequest) => {
  if (message.type === 'open') {
    const started = Date.now();
    // Paced, as clients join in practice: a burst of thousands at once only measures the listen backlog.
    const next = (i: number) => {
      if (i >= message.count) return;
      openOne(message.from + i);
      const due = started + ((i + 1) * 1000) / setup.perSecond;
      setTimeout(() => next(i + 1), Math.max(0, due - Date.now()));
    };
    next(0);
  } else if (message.type === 'status') {
    const status: DurableSwarmStatus = { type: 'status', open, ready, errors, firstError, received };
    process.send?.(status);
  } else if (message.type === 'close') {
    for (const stop of unsubscribes) stop();
    // A moment for the completes to leave: each ends a durable subscription, whose group the gateway commits finally.
    setTimeout(() => {
      Promise.all(clients.map((c) => c.dispose())).finally(() => process.exit(0));
    }, 500);
  }
});
process.send?.({ type: 'started' });
