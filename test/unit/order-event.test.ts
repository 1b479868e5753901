import { describe, expect, it } from 'vitest';
import type { Order } from '../../src/domain/order.js';
import { parseOrderSettledEvent, toOrderSettledEvent } from '../../src/domain/order-event.js';

const order: Order = {
  id: '5b7f3c1e-8f3a-4a53-9d1e-0c8f0a7e2b11',
  accountId: 'acc-1',
  amount: 1999n,
  currency: 'USD',
  product: 'phone-topup',
  reference: '+15550100',
  status: 'SETTLED',
  balanceAfter: 9_007_199_254_740_993n,
  idempotencyKey: 'order-1',
  createdAt: new Date('2026-11-24T09:30:00.000Z'),
  settledAt: new Date('2026-11-24T09:30:00.012Z'),
};

describe('the order.settled CloudEvent', () => {
  it('should carry the contract envelope and the whole order with amounts as strings', () => {
    const event = toOrderSettledEvent('evt-1', order);
    expect(event).toEqual({
      specversion: '1.0',
      id: 'evt-1',
      type: 'order.settled',
      source: 'graphql-kafka-gateway',
      subject: order.id,
      time: '2026-11-24T09:30:00.012Z',
      datacontenttype: 'application/json',
      data: {
        id: order.id,
        accountId: 'acc-1',
        amount: '1999',
        currency: 'USD',
        product: 'phone-topup',
        reference: '+15550100',
        status: 'SETTLED',
        balanceAfter: '9007199254740993',
        idempotencyKey: 'order-1',
        createdAt: '2026-11-24T09:30:00.000Z',
        settledAt: '2026-11-24T09:30:00.012Z',
      },
    });
  });

  it('should parse back to the same order without losing bigint precision', () => {
    expect(parseOrderSettledEvent(JSON.stringify(toOrderSettledEvent('evt-1', order)))).toEqual({ eventId: 'evt-1', order });
  });

  it.each([
    ['null', null],
    ['not JSON', '{'],
    ['a JSON array', '[]'],
    ['another event type', JSON.stringify({ ...toOrderSettledEvent('e', order), type: 'order.refunded' })],
    [
      'a numeric amount',
      JSON.stringify({ ...toOrderSettledEvent('e', order), data: { ...toOrderSettledEvent('e', order).data, amount: 1999 } }),
    ],
    ['no data', JSON.stringify({ ...toOrderSettledEvent('e', order), data: undefined })],
    ['an empty id', JSON.stringify({ ...toOrderSettledEvent('', order) })],
  ])('should reject %s', (_what, value) => {
    expect(parseOrderSettledEvent(value)).toBeNull();
  });
});
