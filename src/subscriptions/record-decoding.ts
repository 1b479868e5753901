/**
 * Reads a Kafka record value as the `@topic` declaration's `format` says
 * (CONTRACT.md, "Any Kafka topic as a subscription field"). Only the envelope
 * is checked here; whether the payload fits the payload type is
 * payload-coercion's job, so one rejected record has exactly one reason.
 */

import type { TopicFormat } from './topic-directive.js';

/** The short words `gateway_records_rejected_total{reason}` carries for a record whose envelope is unreadable. */
export type DecodeRejectReason = 'not_json' | 'not_cloudevent' | 'no_data' | 'not_object';

/** What the decoder needs of a consumed record; kafkajs's message and batch give all of it. */
export interface RecordRef {
  readonly topic: string;
  readonly partition: number;
  /** Kafka's offset, a string of digits as kafkajs gives it. */
  readonly offset: string;
  /** Null for a tombstone. */
  readonly value: Buffer | null;
}

export type DecodedRecord = { readonly ok: true; readonly eventId: string; readonly payload: unknown } | DecodeRejection;

export interface DecodeRejection {
  readonly ok: false;
  readonly reason: DecodeRejectReason;
}

export type RecordDecoder = (record: RecordRef) => DecodedRecord;

const reject = (reason: DecodeRejectReason): DecodeRejection => ({ ok: false, reason });
// Shared: a rejection carries nothing record-specific, and the hot path should not allocate for it.
const NOT_JSON = reject('not_json');
const NOT_CLOUDEVENT = reject('not_cloudevent');
const NO_DATA = reject('no_data');
const NOT_OBJECT = reject('not_object');

/** Null when the value is absent or not JSON; a tombstone has nothing to read either. */
function parseJson(value: Buffer | null): { json: unknown } | null {
  if (value === null) return null;
  try {
    return { json: JSON.parse(value.toString('utf8')) };
  } catch {
    return null;
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Structured JSON mode, with the rules order-event.ts applies to order.settled
 * (specversion "1.0", a non-empty string id, a `data` member) but no `type`
 * check: a declaration names a topic, not an event type. `data` that is not an
 * object is passed on so payload coercion reports it as `payload_shape`.
 */
export function decodeCloudEvent(record: RecordRef): DecodedRecord {
  const parsed = parseJson(record.value);
  if (parsed === null) return NOT_JSON;
  const event = parsed.json;
  if (!isPlainObject(event)) return NOT_CLOUDEVENT;
  if (event.specversion !== '1.0' || typeof event.id !== 'string' || event.id === '') return NOT_CLOUDEVENT;
  // Binary data (`data_base64`) has no JSON payload to type, so it counts as missing.
  if (event.data === undefined || event.data === null) return NO_DATA;
  return { ok: true, eventId: event.id, payload: event.data };
}

/**
 * The value is the payload; the record's coordinates make its eventId, which
 * is stable across redeliveries as the contract asks of an eventId.
 */
export function decodePlainJson(record: RecordRef): DecodedRecord {
  const parsed = parseJson(record.value);
  if (parsed === null) return NOT_JSON;
  if (!isPlainObject(parsed.json)) return NOT_OBJECT;
  return { ok: true, eventId: `${record.topic}/${record.partition}/${record.offset}`, payload: parsed.json };
}

/** Chosen once per declaration, so the per-record path does not branch on the format. */
export function recordDecoder(format: TopicFormat): RecordDecoder {
  switch (format) {
    case 'CLOUDEVENTS':
      return decodeCloudEvent;
    case 'JSON':
      return decodePlainJson;
  }
}
