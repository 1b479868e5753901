/**
 * The transports scenario's receiving side, one process per group of receivers so that neither the load generator
 * nor the other transport's clients delay them: GraphQL-over-SSE subscriptions (one HTTP connection each,
 * sse-stream.ts), graphql-ws subscriptions (one websocket each), or a bare kafkajs consumer of the same topic.
 * Every subscription is orderSettled filtered on the setup's account. Each event's arrival is noted on the
 * monotonic clock every process of the machine shares. Driven over IPC (bench-child.ts):
 * `open` adds subscriptions at the setup's pace, `status` answers counts, `reset` forgets arrivals, `collect`
 * hands them over, `close` ends.
 */
import type { Client } from 'graphql-ws';
import { gatewaySocket, topicSubscriptionQuery } from '../../examples/support/gateway-subscriptions.js';
import { monotonicMs } from './monotonic-clock.js';
import { openSseSubscription } from './sse-stream.js';
import { ORDER_FIELD, subscribeField } from './topic-fields.js';

export type ReceiverTransport = 'sse' | 'ws' | 'kafka';

export interface ReceiversSetup {
  transport: ReceiverTransport;
  url: string;
  token: string;
  /** The account every subscription filters on (the kafka consumer takes every record of the topic). */
  accountId: string;
  /** New subscriptions opened per second. */
  perSecond: number;
  brokers: string;
  topic: string;
  groupId: string;
}

export type ReceiversRequest =
  | { type: 'open'; count: number; since: string }
  | { type: 'status' }
  | { type: 'reset' }
  | { type: 'collect' }
  | { type: 'close' };

export type ReceiversAnswer =
  | {
      type: 'status';
      open: number;
      ready: number;
      errors: number;
      firstError: string | null;
      /** Events received since the last reset, over all receivers. */
      received: number;
      /** subscribe -> first event, ms, of every subscription that is ready. */
      readyLatencies: number[];
    }
  /** Per record id, its arrival at each receiver, in ms on the monotonic clock. */
  | { type: 'arrivals'; arrivals: [string, number[]][] };

const setup = JSON.parse(process.env.RECEIVERS_SETUP ?? '{}') as ReceiversSetup;
if (new URL(setup.url).hostname !== '127.0.0.1') throw new Error('the receivers connect to loopback only');

const QUERY = topicSubscriptionQuery(ORDER_FIELD.field, ORDER_FIELD.filterType, ORDER_FIELD.selection);
const closers: (() => unknown)[] = [];
let arrivals = new Map<string, number[]>();
let received = 0;
let open = 0;
let errors = 0;
let firstError: string | null = null;
const readyLatencies: number[] = [];

function arrived(id: string) {
  const at = monotonicMs();
  const times = arrivals.get(id);
  if (times) times.push(at);
  else arrivals.set(id, [at]);
  received++;
}

function failed(reason: string) {
  errors++;
  firstError ??= reason;
}

/** A handler that notes the first event's delay (ready) and every event's arrival. */
function receiver() {
  const started = performance.now();
  let first = true;
  return (id: string) => {
    if (first) {
      first = false;
      readyLatencies.push(performance.now() - started);
    }
    arrived(id);
  };
}

function openSse(since: string) {
  const onEvent = receiver();
  const close = openSseSubscription(
    setup.url,
    setup.token,
    QUERY,
    { filter: { accountId: setup.accountId }, since },
    {
      next: (result, _id) => {
        if (result.errors) failed(JSON.stringify(result.errors).slice(0, 300));
        const event = result.data?.[ORDER_FIELD.field] as { order?: { id?: string } } | undefined;
        if (event?.order?.id) onEvent(event.order.id);
      },
      ended: (reason) => failed(`SSE stream ended: ${reason}`),
    },
  );
  closers.push(close);
}

function openWs(since: string) {
  const onEvent = receiver();
  const client: Client = gatewaySocket(setup.url, setup.token, {
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: (error) => failed(`websocket: ${String(error)}`),
  });
  const stop = subscribeField(client, ORDER_FIELD, { filter: { accountId: setup.accountId }, since }, onEvent, (errs) =>
    failed(JSON.stringify(errs).slice(0, 300)),
  );
  closers.push(() => {
    stop();
    return client.dispose();
  });
}

async function openKafka() {
  const { bareConsumer } = await import('./subscribers.js');
  const onEvent = receiver();
  const consumer = await bareConsumer(setup.brokers, setup.topic, setup.groupId, onEvent);
  closers.push(() => consumer.disconnect());
}

process.on('message', (message: ReceiversRequest) => {
  const answer = (a: ReceiversAnswer) => process.send?.(a);
  if (message.type === 'open') {
    const from = open;
    const started = Date.now();
    // Paced, as clients join in practice: a burst of a thousand connects at once only measures the listen backlog.
    const next = (i: number) => {
      if (i >= from + message.count) return;
      if (setup.transport === 'sse') openSse(message.since);
      else openWs(message.since);
      open++;
      const due = started + ((i + 1 - from) * 1000) / setup.perSecond;
      setTimeout(() => next(i + 1), Math.max(0, due - Date.now()));
    };
    next(from);
  } else if (message.type === 'status') {
    answer({ type: 'status', open, ready: readyLatencies.length, errors, firstError, received, readyLatencies });
  } else if (message.type === 'reset') {
    arrivals = new Map();
    received = 0;
  } else if (message.type === 'collect') {
    answer({ type: 'arrivals', arrivals: [...arrivals] });
  } else if (message.type === 'close') {
    Promise.allSettled(closers.map((close) => close())).finally(() => process.exit(0));
  }
});

async function main() {
  if (setup.transport === 'kafka') {
    await openKafka();
    open = 1;
  }
  process.send?.({ type: 'started' });
}

main().catch((error: unknown) => {
  process.stderr.write(`sse receivers (${setup.transport}): ${String(error)}\n`);
  process.exit(1);
});
