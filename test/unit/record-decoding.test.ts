import { describe, expect, it } from 'vitest';
import { parseOrderSettledEvent, toOrderSettledEvent } from '../../src/domain/order-event.js';
import { decodeCloudEvent, decodePlainJson, type RecordRef, recordDecoder } from '../../src/subscriptions/record-decoding.js';
import { sampleOrder } from '../support/sample-order.js';

const record = (value: string | Buffer | null, offset = '42'): RecordRef => ({
  topic: 'topups.completed',
  partition: 3,
  offset,
  value: typeof value === 'string' ? Buffer.from(value) : value,
});

const json = (value: unknown) => record(JSON.stringify(value));

const cloudEvent = (overrides: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: 'evt-7',
  type: 'topup.completed',
  source: 'topup-service',
  datacontenttype: 'application/json',
  data: { topupId: 't-1', amount: '500' },
  ...overrides,
});

const order = sampleOrder();

describe('CLOUDEVENTS records', () => {
  it('should give the event id and data of a structured-mode CloudEvent of any type', () => {
    expect(decodeCloudEvent(json(cloudEvent()))).toEqual({ ok: true, eventId: 'evt-7', payload: { topupId: 't-1', amount: '500' } });
  });

  it('should read the order.settled records the outbox publishes as order-event.ts reads them', () => {
    const event = toOrderSettledEvent('evt-order-1', order);
    const decoded = decodeCloudEvent(json(event));
    expect(decoded).toEqual({ ok: true, eventId: 'evt-order-1', payload: event.data });
    expect(parseOrderSettledEvent(JSON.stringify(event))?.eventId).toBe('evt-order-1');
  });

  it.each([
    ['a tombstone', null],
    ['bytes that are not JSON', '{"specversion":"1.0",'],
    ['an empty value', ''],
    ['invalid UTF-8 that is not JSON', Buffer.from([0xff, 0xfe, 0x00])],
  ])('should reject %s as not_json', (_, value) => {
    expect(decodeCloudEvent(record(value))).toEqual({ ok: false, reason: 'not_json' });
  });

  it.each([
    ['a JSON array', [cloudEvent()]],
    ['a JSON string', 'evt'],
    ['JSON null', null],
    ['no specversion', cloudEvent({ specversion: undefined })],
    ['another specversion', cloudEvent({ specversion: '0.3' })],
    ['a numeric specversion', cloudEvent({ specversion: 1.0 })],
    ['no id', cloudEvent({ id: undefined })],
    ['an empty id', cloudEvent({ id: '' })],
    ['a numeric id', cloudEvent({ id: 7 })],
  ])('should reject %s as not_cloudevent', (_, value) => {
    expect(decodeCloudEvent(json(value))).toEqual({ ok: false, reason: 'not_cloudevent' });
  });

  it.each([
    ['no data', cloudEvent({ data: undefined })],
    ['null data', cloudEvent({ data: null })],
    ['binary data only', cloudEvent({ data: undefined, data_base64: 'e30=' })],
  ])('should reject %s as no_data', (_, value) => {
    expect(decodeCloudEvent(json(value))).toEqual({ ok: false, reason: 'no_data' });
  });

  it('should pass data that is not an object on, for payload coercion to reject as payload_shape', () => {
    expect(decodeCloudEvent(json(cloudEvent({ data: 'text' })))).toEqual({ ok: true, eventId: 'evt-7', payload: 'text' });
  });
});

describe('JSON records', () => {
  it('should give the value itself and an eventId of topic, partition and offset', () => {
    expect(decodePlainJson(json({ topupId: 't-1', nested: { a: [1, 2] } }))).toEqual({
      ok: true,
      eventId: 'topups.completed/3/42',
      payload: { topupId: 't-1', nested: { a: [1, 2] } },
    });
  });

  it('should keep a CloudEvent envelope as the payload: the format is the declaration’s, not guessed', () => {
    const decoded = decodePlainJson(json(cloudEvent()));
    expect(decoded.ok && decoded.payload).toEqual(cloudEvent());
  });

  it('should give each record of a partition its own stable eventId', () => {
    const first = decodePlainJson(record('{}', '9007199254740993'));
    const again = decodePlainJson(record('{"x":1}', '9007199254740993'));
    const next = decodePlainJson(record('{}', '9007199254740994'));
    expect(first.ok && first.eventId).toBe('topups.completed/3/9007199254740993');
    expect(again.ok && again.eventId).toBe('topups.completed/3/9007199254740993');
    expect(next.ok && next.eventId).toBe('topups.completed/3/9007199254740994');
  });

  it.each([
    ['a tombstone', null],
    ['bytes that are not JSON', 'topup t-1 done'],
  ])('should reject %s as not_json', (_, value) => {
    expect(decodePlainJson(record(value))).toEqual({ ok: false, reason: 'not_json' });
  });

  it.each([
    ['an array', '[{"topupId":"t-1"}]'],
    ['a string', '"t-1"'],
    ['a number', '42'],
    ['null', 'null'],
  ])('should reject %s as not_object', (_, value) => {
    expect(decodePlainJson(record(value))).toEqual({ ok: false, reason: 'not_object' });
  });
});

describe('recordDecoder', () => {
  it('should pick the decoder of each TopicFormat', () => {
    const value = json(cloudEvent());
    expect(recordDecoder('CLOUDEVENTS')(value)).toEqual(decodeCloudEvent(value));
    expect(recordDecoder('JSON')(value)).toEqual(decodePlainJson(value));
    expect(recordDecoder('CLOUDEVENTS')(value)).not.toEqual(recordDecoder('JSON')(value));
  });
});
