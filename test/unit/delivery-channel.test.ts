import { describe, expect, it } from 'vitest';
import { DeliveryChannel } from '../../src/adapters/kafka/delivery-channel.js';

describe('DeliveryChannel', () => {
  it('should hand values over in order and report each acknowledgement', async () => {
    const channel = new DeliveryChannel<string>();
    const pending = channel.take();
    const a = channel.offer('a');
    const b = channel.offer('b');
    const first = await pending;
    expect(first?.value).toBe('a');
    expect(a.isAcked()).toBe(false);
    first?.ack();
    expect(await a.acked).toBe(true);
    expect(a.isAcked()).toBe(true);
    const second = await channel.take();
    expect(second?.value).toBe('b');
    second?.ack();
    expect(await b.acked).toBe(true);
  });

  it('should never count a withdrawn value as acknowledged, taken or not', async () => {
    const channel = new DeliveryChannel<string>();
    const taken = channel.offer('taken');
    const queued = channel.offer('queued');
    const handoff = await channel.take();
    taken.withdraw();
    queued.withdraw();
    handoff?.ack();
    expect(await taken.acked).toBe(false);
    expect(await queued.acked).toBe(false);
    channel.end();
    expect(await channel.take()).toBeUndefined();
  });

  it('should refuse everything unacknowledged on end and wake a pending take', async () => {
    const channel = new DeliveryChannel<string>();
    const out = channel.offer('out');
    const handoff = await channel.take();
    const waiting = channel.take();
    channel.end();
    expect(await waiting).toBeUndefined();
    handoff?.ack();
    expect(await out.acked).toBe(false);
    expect(await channel.offer('late').acked).toBe(false);
  });

  it('should reject a pending take when it ends with an error', async () => {
    const channel = new DeliveryChannel<string>();
    const waiting = channel.take();
    const failure = new Error('consumer stopped');
    channel.end(failure);
    await expect(waiting).rejects.toBe(failure);
    await expect(channel.take()).rejects.toBe(failure);
  });
});
