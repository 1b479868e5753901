// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are @topic name templates, ${VAR} is their syntax
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
  plainProducer,
  subscribeField,
} from '../support/declared-topics.js';
import { adminToken, startInProcessGateway, token } from '../support/gateway.js';
import { sampleValue, scrape } from '../support/metrics.js';
import { uniqueName, waitFor } from '../support/resources.js';
import { testGatewayEnv } from '../support/test-env.js';

const cleanups = cleanupList();
let url: string;
let topics: Record<'SHIPMENTS_TOPIC' | 'PARCELS_TOPIC' | 'CHECKED_TOPIC', string>;
let defaultedTopic: string;
let producer: PlainProducer;
let shipmentsReader: string;
let parcelsReader: string;

beforeAll(async () => {
  topics = await declaredTopics(cleanups, ['SHIPMENTS_TOPIC', 'PARCELS_TOPIC', 'CHECKED_TOPIC']);
  const DEFAULTED_PREFIX = uniqueName('declared-default').replaceAll('_', '-');
  defaultedTopic = `${DEFAULTED_PREFIX}.defaulted`;
  await createNamedTopic(cleanups, defaultedTopic);
  const env = await testGatewayEnv(cleanups, 'declared-delivery', {
    ...topics,
    DEFAULTED_PREFIX,
    SCHEMA_PATHS: declaredTopicsFixture('delivery.graphql'),
  });
  const gateway = await startInProcessGateway(env);
  cleanups.push(gateway.stop);
  url = gateway.url;
  producer = await plainProducer(cleanups);
  shipmentsReader = await token({ sub: 'shipments-reader', scope: ['shipments:read:all'] });
  parcelsReader = await token({ sub: 'parcels-reader', scope: ['parcels:read:all'] });
});

afterAll(() => cleanups.run());

const SHIPMENT_EVENT = `eventId partition offset publishedAt cursor
  shipment { shipmentId accountId carrier status amount dispatchedAt address { city lines } items { sku quantity } note }`;
const PARCEL_EVENT = `eventId partition offset publishedAt cursor
  parcel { parcelId depot kind fee scannedAt size { lengthMm widthMm } tags }`;

interface Shipment {
  shipmentId: string;
  accountId: string;
  carrier: string;
  status: string;
  amount: string;
  dispatchedAt: string;
  address: { city: string; lines: string[] };
  items: { sku: string; quantity: number }[];
  note: string | null;
}
interface ShipmentEvent {
  eventId: string;
  partition: number;
  offset: string;
  publishedAt: string;
  cursor: string;
  shipment: Shipment;
}
interface ParcelEvent {
  eventId: string;
  partition: number;
  offset: string;
  publishedAt: string;
  cursor: string;
  parcel: { parcelId: string; depot: string; kind: string; fee: string; scannedAt: string; size: object; tags: string[] };
}

const track = <E>(subscriber: FieldSubscriber<E>) => {
  cleanups.push(() => subscriber.close());
  return subscriber;
};
const shipments = (bearer: string, variables: Record<string, unknown>, field = 'shipmentDispatched') =>
  track(subscribeField<ShipmentEvent>(url, bearer, field, topicSubscriptionQuery(field, 'ShipmentFilter', SHIPMENT_EVENT), variables));
const parcels = (bearer: string, variables: Record<string, unknown>, field = 'parcelScanned') =>
  track(subscribeField<ParcelEvent>(url, bearer, field, topicSubscriptionQuery(field, 'ParcelFilter', PARCEL_EVENT), variables));

/** A valid shipment payload; `overrides` replace its fields. */
const shipment = (shipmentId: string, accountId: string, overrides: Record<string, unknown> = {}) => ({
  shipmentId,
  accountId,
  carrier: 'ups',
  status: 'DISPATCHED',
  amount: '100',
  dispatchedAt: '2026-05-01T10:00:00.000Z',
  address: { city: 'Lyon', lines: ['1 rue de la Paix'] },
  items: [{ sku: 'box', quantity: 1 }],
  ...overrides,
});

/** Publishes shipments of one account as CloudEvents whose id is the shipmentId. */
const publishShipments = (topic: string, accountId: string, payloads: readonly Record<string, unknown>[]) =>
  producer.send(
    topic,
    accountId,
    payloads.map((payload) => cloudEvent(String(payload.shipmentId), payload)),
  );

const idsOf = (subscriber: FieldSubscriber<ShipmentEvent>) => subscriber.events.map((e) => e.shipment.shipmentId);

describe('a topic declared in a SCHEMA_PATHS file, fed by a plain kafkajs producer', () => {
  it('should deliver CloudEvents typed as the payload type, the eventId being the CloudEvent id', async () => {
    const account = uniqueName('acc');
    const publishedAt = Date.parse('2026-06-01T08:00:00.123Z');
    const typed = {
      shipmentId: uniqueName('typed'),
      accountId: account,
      carrier: 'dhl',
      status: 'DELIVERED',
      // Beyond a double's integers: kept as the string of digits it was.
      amount: '123456789012345678901234',
      dispatchedAt: '2026-03-04T05:06:07.089Z',
      address: { city: 'Lyon', lines: ['1 rue de la Paix', 'Bâtiment B'], floor: 'ignored' },
      items: [
        { sku: 'crate', quantity: 2 },
        { sku: 'letter', quantity: 1 },
      ],
      note: null,
      unknownField: 'ignored',
    };
    // A number of minor units and an instant with an offset: read as the scalars read them.
    const converted = shipment(uniqueName('converted'), account, { amount: 42, dispatchedAt: '2026-03-04T07:06:07+02:00' });
    const eventIds = [`ce-${typed.shipmentId}`, `ce-${converted.shipmentId}`];
    const landed = await producer.send(
      topics.SHIPMENTS_TOPIC,
      account,
      [cloudEvent(eventIds[0]!, typed), cloudEvent(eventIds[1]!, converted)],
      publishedAt,
    );
    const subscriber = shipments(shipmentsReader, { filter: { accountId: account }, start: 'EARLIEST' });
    const [first, second] = await subscriber.received(2);
    expect(subscriber.errors).toEqual([]);
    expect(first).toEqual({
      eventId: eventIds[0],
      partition: landed[0]!.partition,
      offset: landed[0]!.offset,
      publishedAt: '2026-06-01T08:00:00.123Z',
      cursor: expect.any(String),
      shipment: {
        shipmentId: typed.shipmentId,
        accountId: account,
        carrier: 'dhl',
        status: 'DELIVERED',
        amount: '123456789012345678901234',
        dispatchedAt: '2026-03-04T05:06:07.089Z',
        address: { city: 'Lyon', lines: ['1 rue de la Paix', 'Bâtiment B'] },
        items: [
          { sku: 'crate', quantity: 2 },
          { sku: 'letter', quantity: 1 },
        ],
        note: null,
      },
    });
    expect(second).toMatchObject({
      eventId: eventIds[1],
      offset: landed[1]!.offset,
      shipment: { shipmentId: converted.shipmentId, amount: '42', dispatchedAt: '2026-03-04T05:06:07.000Z' },
    });
  });

  it('should deliver plain JSON records, the value being the payload and the eventId <topic>/<partition>/<offset>', async () => {
    const depot = uniqueName('depot');
    const values = [
      {
        parcelId: 'p1',
        depot,
        kind: 'BOX',
        fee: '999',
        scannedAt: '2026-02-28T23:59:59.999Z',
        size: { lengthMm: 300, widthMm: 200 },
        tags: ['fragile', 'express'],
      },
      {
        parcelId: 'p2',
        depot,
        kind: 'LETTER',
        fee: '10',
        scannedAt: '2026-03-01T00:00:00.000Z',
        size: { lengthMm: 1, widthMm: 2 },
        tags: [],
      },
    ];
    const landed = await producer.send(topics.PARCELS_TOPIC, depot, values);
    const subscriber = parcels(parcelsReader, { filter: { depot }, start: 'EARLIEST' });
    await subscriber.received(2);
    expect(subscriber.errors).toEqual([]);
    expect(subscriber.events.map(({ eventId, partition, offset, parcel }) => ({ eventId, partition, offset, parcel }))).toEqual(
      values.map((parcel, i) => ({
        eventId: `${topics.PARCELS_TOPIC}/${landed[i]!.partition}/${landed[i]!.offset}`,
        partition: landed[i]!.partition,
        offset: landed[i]!.offset,
        parcel,
      })),
    );
  });

  it('should read the default of ${VAR:-default} when the variable is unset', async () => {
    const depot = uniqueName('depot');
    const value = {
      parcelId: 'd1',
      depot,
      kind: 'BOX',
      fee: '1',
      scannedAt: '2026-01-01T00:00:00.000Z',
      size: { lengthMm: 1, widthMm: 1 },
      tags: [],
    };
    const [landed] = await producer.send(defaultedTopic, depot, [value]);
    const subscriber = parcels(parcelsReader, { start: 'EARLIEST' }, 'parcelDefaulted');
    const [event] = await subscriber.received(1);
    expect(event).toMatchObject({ eventId: `${defaultedTopic}/${landed!.partition}/${landed!.offset}`, parcel: value });
  });
});

describe('filters of a declared field', () => {
  it('should match by equality, any of a list, and inclusive minX/maxX on amounts (as integers) and instants', async () => {
    const account = uniqueName('acc');
    const T1 = '2026-04-01T00:00:01.000Z';
    const T2 = '2026-04-01T00:00:02.000Z';
    const T3 = '2026-04-01T00:00:03.000Z';
    const T4 = '2026-04-01T00:00:04.000Z';
    const s = (id: string, carrier: string, status: string, amount: string, dispatchedAt: string) =>
      shipment(`${account}-${id}`, account, { carrier, status, amount, dispatchedAt });
    // All of one account: one key, one partition, read in this order.
    await publishShipments(topics.SHIPMENTS_TOPIC, account, [
      s('s1', 'ups', 'CREATED', '9', T1),
      s('s2', 'dhl', 'DISPATCHED', '10', T2),
      s('s3', 'ups', 'DELIVERED', '100', T3),
      s('s4', 'fedex', 'RETURNED', '8', T4),
    ]);
    const accountId = account;
    const filters: [Record<string, unknown>, string[]][] = [
      [{ accountId, carrier: 'ups' }, ['s1', 's3']],
      [{ accountId, status: ['DISPATCHED', 'DELIVERED'] }, ['s2', 's3']],
      [{ accountId, status: ['RETURNED', 'DELIVERED'] }, ['s3', 's4']],
      // "9" <= "10" as integers, not as strings; "100" is above the bound.
      [{ accountId, minAmount: '9', maxAmount: '10' }, ['s1', 's2']],
      [{ accountId, maxAmount: '10' }, ['s1', 's2', 's4']],
      // T2 written with an offset: compared as the same instant.
      [{ accountId, minDispatchedAt: '2026-04-01T02:00:02+02:00', maxDispatchedAt: T3 }, ['s2', 's3']],
      [{ accountId, carrier: 'ups', status: ['DELIVERED', 'CREATED'], minAmount: '10' }, ['s3']],
    ];
    const subscribers = filters.map(([filter]) => shipments(shipmentsReader, { filter, start: 'EARLIEST' }));
    // A last record every filter matches: once each subscriber has it, every earlier record was decided.
    const sentinel = s('sentinel', 'ups', 'DELIVERED', '10', T2);
    await publishShipments(topics.SHIPMENTS_TOPIC, account, [sentinel]);
    await waitFor('the sentinel at every subscriber', () =>
      subscribers.every((subscriber) => idsOf(subscriber).includes(sentinel.shipmentId)) ? true : undefined,
    );
    expect(subscribers.map((subscriber) => subscriber.errors)).toEqual(filters.map(() => []));
    expect(subscribers.map(idsOf)).toEqual(filters.map(([, ids]) => [...ids.map((id) => `${account}-${id}`), sentinel.shipmentId]));
  });
});

describe('access to a declared field', () => {
  it('should let a caller without the readScope read only with filter.<owner> set to one of its accounts', async () => {
    const mine = uniqueName('mine');
    const theirs = uniqueName('theirs');
    await publishShipments(topics.SHIPMENTS_TOPIC, mine, [shipment(`${mine}-1`, mine)]);
    await publishShipments(topics.SHIPMENTS_TOPIC, theirs, [shipment(`${theirs}-1`, theirs)]);
    const holder = await token({ sub: 'holder', scope: [], accounts: [mine, uniqueName('other-of-mine')] });
    const admin = await adminToken();

    const allowed = shipments(holder, { filter: { accountId: mine }, start: 'EARLIEST' });
    await allowed.received(1);
    expect(idsOf(allowed)).toEqual([`${mine}-1`]);

    const refusals: [string, string, Record<string, unknown>][] = [
      ['another account', holder, { filter: { accountId: theirs }, start: 'EARLIEST' }],
      ['no filter', holder, { start: 'EARLIEST' }],
      ['a filter without the owner field', holder, { filter: { carrier: 'ups' }, start: 'EARLIEST' }],
      // Another declaration's readScope is not this one's.
      ['orders:read:all and no filter', admin, { start: 'EARLIEST' }],
    ];
    const refused = refusals.map(([, bearer, variables]) => shipments(bearer, variables));
    const codes = await Promise.all(refused.map(async (subscriber) => (await subscriber.refused()).extensions?.code));
    expect(Object.fromEntries(refusals.map(([name], i) => [name, codes[i]]))).toEqual(
      Object.fromEntries(refusals.map(([name]) => [name, 'FORBIDDEN'])),
    );
    expect(refused.map((subscriber) => subscriber.events)).toEqual(refusals.map(() => []));
  });

  it('should let a caller with the readScope read with any filter, or none', async () => {
    const account = uniqueName('acc');
    await publishShipments(topics.SHIPMENTS_TOPIC, account, [shipment(`${account}-1`, account, { carrier: 'dhl' })]);
    const byAccount = shipments(shipmentsReader, { filter: { accountId: account }, start: 'EARLIEST' });
    const byCarrier = shipments(shipmentsReader, { filter: { carrier: 'dhl' }, start: 'EARLIEST' });
    const everything = shipments(shipmentsReader, { start: 'EARLIEST' });
    await byAccount.received(1);
    const has = (subscriber: FieldSubscriber<ShipmentEvent>) => (idsOf(subscriber).includes(`${account}-1`) ? true : undefined);
    await waitFor('the shipment without an account filter', () => (has(byCarrier) && has(everything) ? true : undefined));
    expect(idsOf(byAccount)).toEqual([`${account}-1`]);
    expect([byAccount.errors, byCarrier.errors, everything.errors]).toEqual([[], [], []]);
    expect(byCarrier.events.every((e) => e.shipment.carrier === 'dhl')).toBe(true);
  });

  it('should open a declaration without owner to its readScope only, whatever accounts a caller holds', async () => {
    const depot = uniqueName('depot');
    const value = {
      parcelId: 'o1',
      depot,
      kind: 'BOX',
      fee: '5',
      scannedAt: '2026-01-01T00:00:00.000Z',
      size: { lengthMm: 1, widthMm: 1 },
      tags: [],
    };
    await producer.send(topics.PARCELS_TOPIC, depot, [value]);
    const holder = await token({ sub: 'holder', scope: [], accounts: [depot] });
    const refused = [
      parcels(holder, { filter: { depot }, start: 'EARLIEST' }),
      parcels(holder, { start: 'EARLIEST' }),
      parcels(shipmentsReader, { filter: { depot }, start: 'EARLIEST' }),
    ];
    const codes = await Promise.all(refused.map(async (subscriber) => (await subscriber.refused()).extensions?.code));
    expect(codes).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN']);
    const allowed = parcels(parcelsReader, { filter: { depot }, start: 'EARLIEST' });
    await allowed.received(1);
    expect(allowed.events.map((e) => e.parcel)).toEqual([value]);
  });
});

describe('a record that does not fit the declaration', () => {
  it('should be skipped and counted by field and reason while delivery goes on', async () => {
    const rejected = async (reason: string) =>
      sampleValue(await scrape(url), 'gateway_records_rejected_total', { field: 'shipmentChecked', reason }) ?? 0;
    const before = {
      not_json: await rejected('not_json'),
      no_data: await rejected('no_data'),
      payload_shape: await rejected('payload_shape'),
    };
    const key = uniqueName('key');
    const good = (id: string) => cloudEvent(id, shipment(id, key));
    const { carrier: _dropped, ...withoutCarrier } = shipment('no-carrier', key);
    await producer.send(topics.CHECKED_TOPIC, key, [
      good('good-1'),
      '{"specversion": "1.0", "id": "not-json", ',
      cloudEvent('without-data', undefined),
      cloudEvent('no-carrier', withoutCarrier),
      good('good-2'),
    ]);
    const subscriber = shipments(shipmentsReader, { start: 'EARLIEST' }, 'shipmentChecked');
    await subscriber.received(2);
    const rejectedSince = async () => ({
      not_json: (await rejected('not_json')) - before.not_json,
      no_data: (await rejected('no_data')) - before.no_data,
      payload_shape: (await rejected('payload_shape')) - before.payload_shape,
    });
    const counted = await waitFor('the three rejections counted', async () => {
      const now = await rejectedSince();
      return Object.values(now).every((n) => n >= 1) ? now : undefined;
    });
    expect(counted).toEqual({ not_json: 1, no_data: 1, payload_shape: 1 });
    // Delivery goes on past them: a record published afterwards arrives too.
    await producer.send(topics.CHECKED_TOPIC, key, [good('good-3')]);
    await subscriber.received(3);
    expect(subscriber.errors).toEqual([]);
    expect(subscriber.events.map((e) => e.eventId)).toEqual(['good-1', 'good-2', 'good-3']);
    expect(await rejectedSince()).toEqual({ not_json: 1, no_data: 1, payload_shape: 1 });
  });
});
