/**
 * The end-to-end scenario's receiving side, in a process of its own: a bare kafkajs consumer of the topic and
 * graphql-ws subscriptions of the gateway (one websocket each), all unfiltered. It notes when each order's event
 * reached each of them on the monotonic clock (`process.hrtime`, one clock for every process of the machine), so
 * the load generator's work delays neither and the two are compared on equal terms. Driven over IPC:
 * `open` adds subscriptions, `status` answers how many events each received since `reset`, `collect` hands over
 * the arrivals, `close` ends. Receiver 0 is the bare consumer, 1.. the subscriptions in the order opened.
 */
import type { Consumer } from 'kafkajs';
import { monotonicMs } from './monotonic-clock.js';
import { bareConsumer, subscribeOrders, type WsClient, wsClient } from './subscribers.js';

interface Setup {
  url: string;
  token: string;
  brokers: string;
  topic: string;
  groupId: string;
}

export type ObserverRequest =
  | { type: 'open'; count: number }
  | { type: 'status' }
  | { type: 'reset' }
  | { type: 'collect' }
  | { type: 'close' };

export type ObserverAnswer =
  | { type: 'status'; received: number[] }
  /** Per receiver, each event's order id and its arrival in ms on the monotonic clock. */
  | { type: 'arrivals'; arrivals: [string, number][][] };

const setup = JSON.parse(process.env.OBSERVER_SETUP ?? '{}') as Setup;
let arrivals: [string, number][][] = [[]];
const sockets: WsClient[] = [];
const unsubscribes: (() => void)[] = [];

const noteArrival = (receiver: number) => (id: string) => {
  arrivals[receiver]?.push([id, monotonicMs()]);
};

function openSubscription(): void {
  const receiver = arrivals.length;
  arrivals.push([]);
  const socket = wsClient(setup.url, setup.token);
  sockets.push(socket);
  unsubscribes.push(subscribeOrders(socket, {}, noteArrival(receiver)));
}

async function main(): Promise<void> {
  const consumer: Consumer = await bareConsumer(setup.brokers, setup.topic, setup.groupId, noteArrival(0));
  openSubscription();
  process.on('message', (message: ObserverRequest) => {
    const answer = (a: ObserverAnswer) => process.send?.(a);
    if (message.type === 'open') for (let i = 0; i < message.count; i++) openSubscription();
    else if (message.type === 'status') answer({ type: 'status', received: arrivals.map((a) => a.length) });
    else if (message.type === 'reset') arrivals = arrivals.map(() => []);
    else if (message.type === 'collect') answer({ type: 'arrivals', arrivals });
    else if (message.type === 'close') {
      for (const stop of unsubscribes) stop();
      Promise.all([...sockets.map((s) => s.dispose()), consumer.disconnect()]).finally(() => process.exit(0));
    }
  });
  process.send?.({ type: 'started' });
}

main().catch((error: unknown) => {
  process.stderr.write(`event observer: ${String(error)}\n`);
  process.exit(1);
});
