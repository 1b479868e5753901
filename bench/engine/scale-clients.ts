/**
 * The subscribers of the scale benchmark, in a process of their own (forked by subscriber-scale.ts): one websocket per
 * subscription, as browsers and services connect. Commands arrive over IPC.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

interface OpenCommand {
  readonly type: 'open';
  readonly count: number;
  readonly perSecond: number;
  readonly accounts: readonly string[];
  readonly durableEvery: number;
}
interface JoinCommand {
  readonly type: 'join';
  readonly count: number;
  readonly perSecond: number;
  readonly account: string;
}
type Command = OpenCommand | JoinCommand | { readonly type: 'receipts' } | { readonly type: 'close' };

const url = `${String(process.env.SCALE_URL).replace(/^http/, 'ws')}/graphql`;
const token = String(process.env.SCALE_TOKEN);
const QUERY = `subscription($filter: OrderFilter, $subscriberId: String, $start: StartFrom) {
  orderSettled(filter: $filter, subscriberId: $subscriberId, start: $start) { eventId order { id } }
}`;
const clients: ReturnType<typeof createClient>[] = [];
let receipts: [string, number][] = [];
let errors = 0;
const reasons = new Map<string, number>();
let opened = 0;

function subscribe(variables: Record<string, unknown>, onEvent: (orderId: string) => void): ReturnType<typeof createClient> {
  const client = createClient({ url, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  client.subscribe<{ orderSettled: { order: { id: string } } }>(
    { query: QUERY, variables },
    {
      next: (result) => {
        const id = result.data?.orderSettled.order.id;
        if (id) onEvent(id);
      },
      error: (error: unknown) => {
        errors++;
        const reason =
          String((error as { code?: unknown; reason?: unknown }).code ?? '') +
          ' ' +
          String((error as { reason?: unknown }).reason ?? (error as { message?: unknown }).message ?? error);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      },
      complete: () => {},
    },
  );
  return client;
}

const paced = async (count: number, perSecond: number, each: (i: number) => void) => {
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / perSecond;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    each(i);
  }
};

process.on('message', async (command: Command) => {
  if (command.type === 'open') {
    await paced(command.count, command.perSecond, (i) => {
      const n = opened++;
      const durable = n % command.durableEvery === 0;
      clients.push(
        subscribe(
          {
            filter: { accountId: command.accounts[n % command.accounts.length] },
            ...(durable && { subscriberId: `scale-${n}`, start: 'LATEST' }),
          },
          (orderId) => receipts.push([orderId, Date.now()]),
        ),
      );
      void i;
    });
    process.send?.({ type: 'opened', total: clients.length, errors, reasons: Object.fromEntries(reasons) });
  } else if (command.type === 'join') {
    const joins: number[] = [];
    const joiners: ReturnType<typeof createClient>[] = [];
    await new Promise<void>((resolve) => {
      let done = 0;
      void paced(command.count, command.perSecond, () => {
        const sentAt = performance.now();
        let first = true;
        joiners.push(
          subscribe({ filter: { accountId: command.account }, start: 'EARLIEST' }, () => {
            if (!first) return;
            first = false;
            joins.push(performance.now() - sentAt);
            if (++done === command.count) resolve();
          }),
        );
      });
    });
    await Promise.all(joiners.map((c) => c.dispose()));
    process.send?.({ type: 'joined', joins });
  } else if (command.type === 'receipts') {
    process.send?.({ type: 'receipts', receipts, errors });
    receipts = [];
  } else {
    await Promise.all(clients.map((c) => c.dispose()));
    process.send?.({ type: 'closed' });
    process.exit(0);
  }
});
process.send?.({ type: 'started' });
