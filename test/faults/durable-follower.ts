import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ORDER_SETTLED, type SettledEvent } from '../support/subscriber.js';

export interface FollowerFilter {
  accountId?: string;
  product?: string;
}

/**
 * A downstream system on a durable orderSettled subscription: it starts at EARLIEST, and whenever its socket or
 * subscription ends (a gateway killed or draining, an error) it reconnects to a live gateway with COMMITTED,
 * as a real client would. It keeps the eventId of each order it saw, to tell repeats from conflicts.
 */
export class DurableFollower {
  /** orderId -> eventId of the first event seen for it. */
  readonly seen = new Map<string, string>();
  repeats = 0;
  /** An order seen under two eventIds: a double publication, never allowed. */
  readonly conflicts: string[] = [];
  readonly endings: string[] = [];
  connects = 0;
  url: string | undefined;
  #client: Client | undefined;
  #generation = 0;
  #stopped = false;
  #reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly subscriberId: string,
    readonly filter: FollowerFilter,
    private readonly urls: () => string[],
    private readonly bearer: string,
    private readonly prefer?: () => string | undefined,
  ) {}

  matches(order: { accountId: string; product: string }): boolean {
    return (
      (this.filter.accountId === undefined || order.accountId === this.filter.accountId) &&
      (this.filter.product === undefined || order.product === this.filter.product)
    );
  }

  start(): void {
    this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    await this.#client?.dispose();
  }

  #connect(): void {
    if (this.#stopped) return;
    const urls = this.urls();
    const preferred = this.prefer?.();
    // Another gateway than the last one, when there is one: the last may be the one that went away.
    const url = preferred ?? urls.find((u) => u !== this.url) ?? urls[0];
    if (!url) {
      this.#later();
      return;
    }
    const generation = ++this.#generation;
    this.url = url;
    this.connects++;
    const ended = (why: string) => {
      if (generation !== this.#generation) return;
      this.#generation++;
      this.endings.push(why);
      void client.dispose();
      this.#later();
    };
    const client = createClient({
      url: `${url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.bearer}` },
      retryAttempts: 0,
      lazy: true,
      on: { closed: (event) => ended(`closed ${(event as { code?: number }).code}`) },
    });
    this.#client = client;
    const start = this.connects === 1 ? 'EARLIEST' : 'COMMITTED';
    client.subscribe<{ orderSettled: SettledEvent }>(
      {
        query: ORDER_SETTLED,
        variables: { subscriberId: this.subscriberId, start, filter: Object.keys(this.filter).length > 0 ? this.filter : null },
      },
      {
        next: (result) => {
          const event = result.data?.orderSettled;
          if (!event) {
            ended(`errors ${JSON.stringify(result.errors)}`);
            return;
          }
          const before = this.seen.get(event.order.id);
          if (before === undefined) this.seen.set(event.order.id, event.eventId);
          else if (before === event.eventId) this.repeats++;
          else this.conflicts.push(`${event.order.id}: ${before} and ${event.eventId}`);
        },
        error: (error) => ended(`error ${JSON.stringify((error as { reason?: string }).reason ?? error)}`),
        complete: () => ended('complete'),
      },
    );
  }

  #later(): void {
    if (this.#stopped) return;
    this.#reconnectTimer = setTimeout(() => this.#connect(), 300);
  }
}
