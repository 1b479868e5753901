import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicSubscriptionQuery } from '../../examples/support/gateway-subscriptions.js';
import { cleanupList } from '../support/cleanup.js';
import {
  cloudEvent,
  createNamedTopic,
  declaredTopics,
  declaredTopicsFixture,
  type FieldSubscriber,
  type PlainProducer,
  type Published,
  plainProducer,
  subscribeField,
} from '../support/declared-topics.js';
import { startInProcessGateway, token } from '../support/gateway.js';
import { describeGroupOffsets } from '../support/kafka-tools.js';
import { deleteTopic, observeFor, testKafkaBrokers, uniqueName, waitFor } from '../support/resources.js';
import { testGatewayEnv } from '../support/test-env.js';

const cleanups = cleanupList();
let url: string;
let prefix: string;
let topics: Record<'INVOICES_TOPIC' | 'REFUNDS_TOPIC' | 'DOOMED_TOPIC', string>;
let lateTopic: string;
let producer: PlainProducer;
let reader: string;

beforeAll(async () => {
  topics = await declaredTopics(cleanups, ['INVOICES_TOPIC', 'REFUNDS_TOPIC', 'DOOMED_TOPIC']);
  // Named for the gateway, created only by the test that waits for it.
  lateTopic = uniqueName('declared-late').replaceAll('_', '-');
  cleanups.push(() => deleteTopic(lateTopic));
  const env = await testGatewayEnv(cleanups, 'declared-resume', {
    ...topics,
    LATE_TOPIC: lateTopic,
    SCHEMA_PATHS: declaredTopicsFixture('resume.graphql'),
  });
  prefix = env.KAFKA_GROUP_PREFIX;
  const gateway = await startInProcessGateway(env);
  cleanups.push(gateway.stop);
  url = gateway.url;
  producer = await plainProducer(cleanups);
  reader = await token({ sub: 'resumer', scope: ['invoices:read:all'] });
});

afterAll(() => cleanups.run());

interface InvoiceEvent {
  eventId: string;
  partition: number;
  offset: string;
  cursor: string;
  invoice: { invoiceId: string; accountId: string; amount: string };
}
interface RefundEvent {
  eventId: string;
  cursor: string;
  refund: { refundId: string; accountId: string; amount: string };
}

const INVOICE_EVENT = 'eventId partition offset cursor invoice { invoiceId accountId amount }';
const REFUND_EVENT = 'eventId cursor refund { refundId accountId amount }';

const track = <E>(subscriber: FieldSubscriber<E>) => {
  cleanups.push(() => subscriber.close());
  return subscriber;
};
const invoices = (bearer: string, variables: Record<string, unknown>, field = 'invoiceIssued') =>
  subscribeField<InvoiceEvent>(url, bearer, field, topicSubscriptionQuery(field, 'InvoiceFilter', INVOICE_EVENT), variables);
const refunds = (bearer: string, variables: Record<string, unknown>) =>
  subscribeField<RefundEvent>(url, bearer, 'refundIssued', topicSubscriptionQuery('refundIssued', 'RefundFilter', REFUND_EVENT), variables);

/** Publishes invoices of one account as CloudEvents whose id is the invoiceId; returns the ids. */
async function publishInvoices(topic: string, accountId: string, label: string, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `${accountId}-${label}-${i}`);
  await producer.send(
    topic,
    accountId,
    ids.map((invoiceId, i) => cloudEvent(invoiceId, { invoiceId, accountId, amount: String(100 + i) })),
  );
  return ids;
}

const invoiceIds = (subscriber: FieldSubscriber<InvoiceEvent>) => subscriber.events.map((e) => e.invoice.invoiceId);

/** Publishes one more invoice of `account` and waits for it: the account's records before it were all delivered by then. */
async function sentinel(subscriber: FieldSubscriber<InvoiceEvent>, account: string): Promise<string> {
  const [id] = await publishInvoices(topics.INVOICES_TOPIC, account, 'sentinel', 1);
  await waitFor('the sentinel invoice', () => (invoiceIds(subscriber).includes(id as string) ? true : undefined));
  return id as string;
}

describe('resuming a declared field', () => {
  it('should give a durable subscriber back with start COMMITTED exactly the records published while it was away', async () => {
    const account = uniqueName('acc');
    const subscriberId = uniqueName('away');
    const filter = { accountId: account };
    const seen = await publishInvoices(topics.INVOICES_TOPIC, account, 'seen', 3);
    const first = track(invoices(reader, { filter, subscriberId, start: 'EARLIEST' }));
    await first.received(3);
    expect(invoiceIds(first)).toEqual(seen);
    await first.close();
    const away = await publishInvoices(topics.INVOICES_TOPIC, account, 'away', 5);
    const again = track(invoices(reader, { filter, subscriberId, start: 'COMMITTED' }));
    await waitFor('the 5 invoices published while away', () =>
      invoiceIds(again).filter((id) => id.includes('-away-')).length >= 5 ? true : undefined,
    );
    const last = await sentinel(again, account);
    expect(again.errors).toEqual([]);
    expect(invoiceIds(again)).toEqual([...away, last]);
  });

  it('should resume right after the event of an afterCursor, with nothing skipped or repeated', async () => {
    const account = uniqueName('acc');
    const published = await publishInvoices(topics.INVOICES_TOPIC, account, 'hist', 6);
    const history = track(invoices(reader, { filter: { accountId: account }, start: 'EARLIEST' }));
    await history.received(6);
    expect(invoiceIds(history)).toEqual(published);
    const resumed = track(invoices(reader, { filter: { accountId: account }, afterCursor: history.events[2]!.cursor }));
    await resumed.received(3);
    const last = await sentinel(resumed, account);
    expect(resumed.errors).toEqual([]);
    expect(invoiceIds(resumed)).toEqual([...published.slice(3), last]);
  });

  it('should refuse a cursor of one declared field on another with BAD_USER_INPUT', async () => {
    const account = uniqueName('acc');
    await publishInvoices(topics.INVOICES_TOPIC, account, 'cursor', 1);
    const history = track(invoices(reader, { filter: { accountId: account }, start: 'EARLIEST' }));
    const [event] = await history.received(1);
    const elsewhere = track(refunds(reader, { filter: { accountId: account }, afterCursor: event!.cursor }));
    const error = await elsewhere.refused();
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(elsewhere.events).toEqual([]);
  });
});

describe('one subscriberId following two declared fields', () => {
  it("should deliver both, and Kafka's own tool shows the group's committed offsets for both topics", async () => {
    const account = uniqueName('acc');
    const subscriberId = uniqueName('both');
    const notifier = await token({ sub: 'notifier', scope: [], accounts: [account] });
    const invoiceIdsPublished = [`${account}-invoice-0`, `${account}-invoice-1`];
    const invoiceLanded = await producer.send(
      topics.INVOICES_TOPIC,
      account,
      invoiceIdsPublished.map((invoiceId) => cloudEvent(invoiceId, { invoiceId, accountId: account, amount: '7' })),
    );
    const refundIdsPublished = [`${account}-refund-0`, `${account}-refund-1`];
    const refundLanded = await producer.send(
      topics.REFUNDS_TOPIC,
      account,
      refundIdsPublished.map((refundId) => ({ refundId, accountId: account, amount: '7' })),
    );
    const filter = { accountId: account };
    const invoiceSubscriber = track(invoices(notifier, { filter, subscriberId, start: 'EARLIEST' }));
    const refundSubscriber = track(refunds(notifier, { filter, subscriberId, start: 'EARLIEST' }));
    await invoiceSubscriber.received(2);
    await refundSubscriber.received(2);
    expect(invoiceIds(invoiceSubscriber)).toEqual(invoiceIdsPublished);
    expect(refundSubscriber.events.map((e) => e.refund.refundId)).toEqual(refundIdsPublished);

    const groupId = `${prefix}.notifier.${subscriberId}`;
    // Past the last record each subscription was sent, on the partition that record landed in.
    const pastLast = (landed: readonly Published[]) => ({ partition: landed[1]!.partition, offset: BigInt(landed[1]!.offset) + 1n });
    const wanted = [
      { topic: topics.INVOICES_TOPIC, ...pastLast(invoiceLanded) },
      { topic: topics.REFUNDS_TOPIC, ...pastLast(refundLanded) },
    ];
    const rows = await waitFor(
      `committed offsets of ${groupId} on both topics`,
      async () => {
        const described = await describeGroupOffsets(testKafkaBrokers().join(','), groupId);
        const committed = wanted.every(({ topic, partition, offset }) =>
          described.some(
            (r) => r.topic === topic && r.partition === partition && r.currentOffset !== undefined && r.currentOffset >= offset,
          ),
        );
        return committed ? described : undefined;
      },
      60_000,
    );
    expect([...new Set(rows.map((r) => r.topic))].sort()).toEqual([topics.INVOICES_TOPIC, topics.REFUNDS_TOPIC].sort());
  });
});

describe('the life of a declared topic', () => {
  it('should let a subscription wait for a topic that does not exist yet, and deliver once it is created', async () => {
    const subscriber = track(invoices(reader, {}, 'invoiceLate'));
    // Nothing to wait on: the subscription must simply not be refused or ended while the topic is missing.
    await observeFor(1500);
    expect({ errors: subscriber.errors, ended: subscriber.ended }).toEqual({ errors: [], ended: false });
    await createNamedTopic(cleanups, lateTopic);
    const account = uniqueName('acc');
    const [id] = await publishInvoices(lateTopic, account, 'late', 1);
    const [event] = await subscriber.received(1, 60_000);
    expect(event?.invoice).toEqual({ invoiceId: id, accountId: account, amount: '100' });
  });

  it('should end a subscription whose topic is deleted with the code TOPIC_DELETED', async () => {
    const account = uniqueName('acc');
    const [id] = await publishInvoices(topics.DOOMED_TOPIC, account, 'doomed', 1);
    const subscriber = track(invoices(reader, { start: 'EARLIEST' }, 'invoiceDoomed'));
    await subscriber.received(1);
    expect(invoiceIds(subscriber)).toEqual([id]);
    await deleteTopic(topics.DOOMED_TOPIC);
    await waitFor('the subscription to end', () => (subscriber.ended ? true : undefined), 60_000);
    expect(subscriber.errors.map((e) => e.extensions?.code)).toEqual(['TOPIC_DELETED']);
  });
});
