import type { Batch, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { parseOrderSettledEvent } from '../../domain/order-event.js';
import { matchesFilter, type OrderFilter } from '../../domain/order-filter.js';
import type { Logger } from '../../logger.js';
import type { SettledOrderDelivery } from '../../ports/settled-order-source.js';
import type { DeliveryChannel, Offer } from './delivery-channel.js';
import type { SubscriptionPositions } from './subscription-positions.js';

export interface BatchHandlerOptions {
  readonly channel: DeliveryChannel<SettledOrderDelivery>;
  readonly positions: SubscriptionPositions;
  readonly filter: OrderFilter;
  readonly logger: Logger;
  /** Records handed to the subscriber and not acknowledged yet, at most. */
  readonly maxBufferedEvents: number;
  /** How often to heartbeat while a slow subscriber holds the batch. */
  readonly heartbeatIntervalMs: number;
  readonly stopping: () => boolean;
  /** Counts kafkajs fetches: the batches of one fetch are handled one after another. */
  readonly fetchNumber: () => number;
  /** Counts group joins. After a rejoin mid-batch the partition may be another member's: resolve nothing more. */
  readonly joins: () => number;
  /** False to pass over a batch untouched (it is fetched again), e.g. while a start position is re-applied. */
  readonly admit: (partition: number, fetchedOffset: bigint | undefined) => Promise<boolean>;
}

const SKIPPED: Offer = { acked: Promise.resolve(true), isAcked: () => true, withdraw: () => {} };

/**
 * The kafkajs `eachBatch` handler of one subscription. It resolves a record's
 * offset (which kafkajs then commits, while this member still owns the
 * partition) only once the subscriber acknowledged it or it was skipped, and
 * strictly in order. It never throws: kafkajs would restart the consumer.
 */
export function createBatchHandler(options: BatchHandlerOptions): (payload: EachBatchPayload) => Promise<void> {
  let gaveUpInFetch: number | undefined;
  return async (payload) => {
    // Having given up (say on a rebalance), pass over the fetch's other batches so kafkajs can rejoin at once.
    if (gaveUpInFetch === options.fetchNumber()) return;
    try {
      if (!(await options.admit(payload.batch.partition, fetchedOffsetOf(payload.batch)))) return;
      if (!(await handleBatch(options, payload))) gaveUpInFetch = options.fetchNumber();
    } catch (error) {
      options.logger.error({ err: error, partition: payload.batch.partition }, 'failed to handle a batch of settled orders');
    }
  };
}

/** The offset kafkajs asked the broker for: set at runtime, missing from kafkajs's types. */
function fetchedOffsetOf(batch: Batch): bigint | undefined {
  const offset = (batch as Batch & { fetchedOffset?: unknown }).fetchedOffset;
  return typeof offset === 'string' || typeof offset === 'number' ? BigInt(offset) : undefined;
}

/** False when it gave up before the end of the batch. */
async function handleBatch(options: BatchHandlerOptions, payload: EachBatchPayload): Promise<boolean> {
  const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
  const { partition } = batch;
  const pending: { readonly offset: string; readonly offer: Offer }[] = [];
  const joinedAt = options.joins();
  // kafkajs can rejoin from another broker's fetch while this batch waits; offsets resolved now would go to the new
  // generation's commit, whoever owns the partition. The acknowledged records are then simply delivered again.
  const rejoined = () => options.joins() !== joinedAt;
  const resolveHead = () => {
    const head = pending.shift();
    if (!head) return;
    resolveOffset(head.offset);
    options.positions.advance(partition, head.offset);
  };
  const givingUp = () => !isRunning() || options.stopping() || rejoined();
  const settleHead = async (): Promise<boolean> => {
    const head = pending[0];
    if (!head) return false;
    if (!head.offer.isAcked() && !(await awaitAck(head.offer.acked, heartbeat, givingUp, options.heartbeatIntervalMs))) return false;
    if (rejoined()) return false;
    resolveHead();
    // Commits only when autoCommitInterval has passed; a failure means the partition may be gone.
    return commitOffsetsIfNecessary().then(
      () => true,
      () => false,
    );
  };

  let complete = true;
  for (const message of batch.messages) {
    if (givingUp() || isStale()) {
      complete = false;
      break;
    }
    pending.push({ offset: message.offset, offer: offerOrSkip(options, partition, message) });
    if (pending.length >= options.maxBufferedEvents && !(await settleHead())) {
      complete = false;
      break;
    }
  }
  while (complete && pending.length > 0) complete = await settleHead();
  // Given up (ending, rebalance, lost membership): keep what was acknowledged, re-read the rest later.
  while (!rejoined() && pending[0]?.offer.isAcked()) resolveHead();
  for (const { offer } of pending) offer.withdraw();
  return complete;
}

function offerOrSkip(options: BatchHandlerOptions, partition: number, message: KafkaMessage): Offer {
  const event = parseOrderSettledEvent(message.value);
  if (event === null) {
    options.logger.warn({ partition, offset: message.offset }, 'skipping a record that is not a valid order.settled event');
    return SKIPPED;
  }
  if (!matchesFilter(event.order, options.filter)) return SKIPPED;
  return options.channel.offer({
    eventId: event.eventId,
    order: event.order,
    partition,
    offset: message.offset,
    publishedAt: new Date(Number(message.timestamp)),
    cursor: options.positions.cursorAfter(partition, message.offset),
  });
}

/** Waits for the acknowledgement, heartbeating meanwhile; false if refused, given up, or the group is rebalancing. */
async function awaitAck(
  acked: Promise<boolean>,
  heartbeat: () => Promise<void>,
  givingUp: () => boolean,
  everyMs: number,
): Promise<boolean> {
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const tick = new Promise<'tick'>((resolve) => {
      timer = setTimeout(resolve, everyMs, 'tick');
    });
    const outcome = await Promise.race([acked, tick]);
    clearTimeout(timer);
    if (outcome !== 'tick') return outcome;
    if (givingUp()) return false;
    try {
      await heartbeat();
    } catch {
      // Rebalancing or no longer a member: return so kafkajs can rejoin; unacknowledged records come again.
      return false;
    }
  }
}
