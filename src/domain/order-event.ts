import type { Order } from './order.js';

/** CONTRACT.md: the Kafka record of a settled order is a CloudEvents 1.0 event in structured JSON mode. */
export const CLOUDEVENT_CONTENT_TYPE = 'application/cloudevents+json';
export const ORDER_SETTLED_TYPE = 'order.settled';
export const EVENT_SOURCE = 'graphql-kafka-gateway';

/** The Order as it travels on Kafka: schema field names, amounts as strings, instants as ISO strings. */
export interface OrderEventData {
  id: string;
  accountId: string;
  amount: string;
  currency: string;
  product: string;
  reference: string | null;
  status: 'SETTLED';
  balanceAfter: string;
  idempotencyKey: string;
  createdAt: string;
  settledAt: string;
}

export interface OrderSettledCloudEvent {
  specversion: '1.0';
  id: string;
  type: typeof ORDER_SETTLED_TYPE;
  source: typeof EVENT_SOURCE;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: OrderEventData;
}

export function toOrderSettledEvent(eventId: string, order: Order): OrderSettledCloudEvent {
  return {
    specversion: '1.0',
    id: eventId,
    type: ORDER_SETTLED_TYPE,
    source: EVENT_SOURCE,
    subject: order.id,
    time: order.settledAt.toISOString(),
    datacontenttype: 'application/json',
    data: {
      id: order.id,
      accountId: order.accountId,
      amount: order.amount.toString(),
      currency: order.currency,
      product: order.product,
      reference: order.reference,
      status: order.status,
      balanceAfter: order.balanceAfter.toString(),
      idempotencyKey: order.idempotencyKey,
      createdAt: order.createdAt.toISOString(),
      settledAt: order.settledAt.toISOString(),
    },
  };
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isDigits = (v: unknown): v is string => isString(v) && /^\d{1,19}$/.test(v);
const isInstant = (v: unknown): v is string => isString(v) && !Number.isNaN(Date.parse(v));

/**
 * Parses a record value back into its event and Order; null when it is not a
 * valid order.settled event (a consumer logs and skips such a record).
 */
export function parseOrderSettledEvent(value: Buffer | string | null): { eventId: string; order: Order } | null {
  if (value === null) return null;
  let event: unknown;
  try {
    event = JSON.parse(value.toString());
  } catch {
    return null;
  }
  if (typeof event !== 'object' || event === null) return null;
  const e = event as Record<string, unknown>;
  if (e.specversion !== '1.0' || e.type !== ORDER_SETTLED_TYPE || !isString(e.id) || e.id === '') return null;
  const d = e.data as Record<string, unknown> | null | undefined;
  if (typeof d !== 'object' || d === null) return null;
  if (
    !isString(d.id) ||
    !isString(d.accountId) ||
    !isDigits(d.amount) ||
    !isString(d.currency) ||
    !isString(d.product) ||
    !(d.reference === null || d.reference === undefined || isString(d.reference)) ||
    d.status !== 'SETTLED' ||
    !isDigits(d.balanceAfter) ||
    !isString(d.idempotencyKey) ||
    !isInstant(d.createdAt) ||
    !isInstant(d.settledAt)
  ) {
    return null;
  }
  return {
    eventId: e.id,
    order: {
      id: d.id,
      accountId: d.accountId,
      amount: BigInt(d.amount),
      currency: d.currency,
      product: d.product,
      reference: d.reference ?? null,
      status: 'SETTLED',
      balanceAfter: BigInt(d.balanceAfter),
      idempotencyKey: d.idempotencyKey,
      createdAt: new Date(d.createdAt),
      settledAt: new Date(d.settledAt),
    },
  };
}
