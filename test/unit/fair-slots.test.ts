import { describe, expect, it } from 'vitest';
import { FairSlots } from '../../src/streaming/fair-slots.js';

/** Grants are recorded in the order given: [caller, request number]. */
function recorder() {
  const granted: string[] = [];
  const ask = (slots: FairSlots<string>, caller: string, count = 1) => {
    for (let i = 0; i < count; i++) slots.acquire(caller, () => granted.push(caller));
  };
  return { granted, ask };
}

describe('FairSlots', () => {
  it('should give a lone caller every slot and the next one as soon as one is given back', () => {
    const slots = new FairSlots<string>(4);
    const { granted, ask } = recorder();
    ask(slots, 'a', 6);
    expect(granted).toEqual(['a', 'a', 'a', 'a']);
    expect(slots.waiting('a')).toBe(2);
    slots.release('a');
    expect(granted).toHaveLength(5);
    expect(slots.held()).toBe(4);
  });

  it('should give the next free slot to a newly waiting caller, and none to the caller above its share until it is below', () => {
    const slots = new FairSlots<string>(8);
    const { granted, ask } = recorder();
    ask(slots, 'a', 100);
    expect(slots.held('a')).toBe(8);
    ask(slots, 'b');
    expect(granted.at(-1)).toBe('a');
    expect(slots.share).toBe(4);

    slots.release('a');
    expect(granted.at(-1)).toBe('b');
    expect(slots.held('b')).toBe(1);
    // a holds 7, more than its share of 4: freed slots stay free until it is below.
    for (let i = 0; i < 3; i++) slots.release('a');
    expect(slots.held('a')).toBe(4);
    expect(slots.held()).toBe(5);
    expect(granted.filter((c) => c === 'a')).toHaveLength(8);
    slots.release('a');
    expect(slots.held('a')).toBe(4);
    expect(granted.filter((c) => c === 'a')).toHaveLength(9);

    // b is done with this read, and may well ask for its next at once: it counts for another eight releases.
    slots.release('b');
    expect(slots.share).toBe(4);
    for (let i = 0; i < 7; i++) slots.release('a');
    expect(slots.held('a')).toBe(4);
    // It did not: a is alone again and takes every slot.
    slots.release('a');
    expect(slots.share).toBe(8);
    expect(slots.held('a')).toBe(8);
  });

  it('should serve waiting callers in turn', () => {
    const slots = new FairSlots<string>(1);
    const { granted, ask } = recorder();
    ask(slots, 'a');
    ask(slots, 'b', 3);
    ask(slots, 'c', 2);
    // a asks again after b and c: its turn comes after theirs.
    ask(slots, 'a', 2);
    for (const caller of ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b']) slots.release(caller);
    expect(granted).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b']);
    expect(slots.held()).toBe(0);
  });

  it("should let a caller with one read at a time finish ten while another keeps a hundred waiting, in a few of the other's reads each", () => {
    // Reads end in the order they were given a slot. b reads ten chunks one after another; a always has a hundred waiting.
    const slots = new FairSlots<string>(8);
    const running: string[] = [];
    const ask = (caller: string) => slots.acquire(caller, () => running.push(caller));
    for (let i = 0; i < 100; i++) ask('a');
    let bDone = 0;
    let aDone = 0;
    ask('b');
    while (bDone < 10) {
      const caller = running.shift();
      if (caller === undefined) throw new Error('no read running');
      slots.release(caller);
      if (caller === 'b') {
        bDone++;
        if (bDone < 10) ask('b');
      } else {
        aDone++;
        ask('a');
      }
    }
    // A plain queue would have made each of b's reads wait for the hundred before it: about a thousand of a's.
    expect(aDone).toBeLessThanOrEqual(10 * 8);
  });

  it('should never give a caller more than its share, nor leave a slot free that a caller under its share waits for', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const total = 6;
    const slots = new FairSlots<string>(total);
    const callers = ['a', 'b', 'c', 'd', 'e'];
    const holding: string[] = [];
    for (let step = 0; step < 5_000; step++) {
      const caller = callers[Math.floor(random() * callers.length)] ?? 'a';
      if (random() < 0.55) {
        slots.acquire(caller, () => {
          holding.push(caller);
          expect(slots.held(caller)).toBeLessThanOrEqual(slots.share);
        });
      } else if (holding.length > 0) {
        const [released] = holding.splice(Math.floor(random() * holding.length), 1);
        if (released !== undefined) slots.release(released);
      }
      expect(slots.held()).toBe(holding.length);
      expect(slots.held()).toBeLessThanOrEqual(total);
      if (slots.held() < total) {
        for (const c of callers) if (slots.waiting(c) > 0) expect(slots.held(c)).toBeGreaterThanOrEqual(slots.share);
      }
    }
  });
});
