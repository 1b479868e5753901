import { describe, expect, it } from 'vitest';
import {
  combinedLag,
  commitAllowance,
  groupLag,
  lagText,
  newlyInStep,
  retained,
  stateText,
  systemState,
} from '../../scripts/demo/system-state.js';
import { renderLine, type SystemRow } from '../../scripts/demo/view.js';

const ends = [
  { partition: 0, low: '0', high: '10' },
  { partition: 1, low: '4', high: '7' },
];

describe('groupLag', () => {
  it('should be null, not negative, before the group has committed any offset', () => {
    expect(groupLag(ends, [])).toBeNull();
    expect(
      groupLag(ends, [
        { partition: 0, offset: '-1' },
        { partition: 1, offset: '-1' },
      ]),
    ).toBeNull();
    expect(groupLag([{ partition: 0, low: '0', high: '0' }], [{ partition: 0, offset: '-1' }])).toBeNull();
  });

  it('should add what each partition has past its committed offset, from the log start where none is', () => {
    expect(groupLag(ends, [{ partition: 0, offset: '8' }])).toBe(2 + 3);
    expect(
      groupLag(ends, [
        { partition: 0, offset: '10' },
        { partition: 1, offset: '7' },
      ]),
    ).toBe(0);
  });

  it('should count an offset before the log start from the log start, and never go below 0', () => {
    expect(
      groupLag(ends, [
        { partition: 0, offset: '10' },
        { partition: 1, offset: '1' },
      ]),
    ).toBe(3);
    expect(
      groupLag(ends, [
        { partition: 0, offset: '12' },
        { partition: 1, offset: '7' },
      ]),
    ).toBe(0);
  });
});

describe('combinedLag', () => {
  it('should add the lag on each topic of a group that reads several, counting a topic it never committed on in full', () => {
    expect(retained(ends)).toBe(10 + 3);
    expect(combinedLag([{ lag: 2, retained: 10 }])).toBe(2);
    expect(
      combinedLag([
        { lag: 2, retained: 10 },
        { lag: 0, retained: 5 },
      ]),
    ).toBe(2);
    // Offsets on the orders' topic, none yet on the top-ups' topic that holds 4 records: 4 unread.
    expect(
      combinedLag([
        { lag: 1, retained: 50 },
        { lag: null, retained: 4 },
      ]),
    ).toBe(5);
  });

  it('should be null only when the group committed on none of its topics', () => {
    expect(
      combinedLag([
        { lag: null, retained: 50 },
        { lag: null, retained: 0 },
      ]),
    ).toBeNull();
    expect(
      combinedLag([
        { lag: 0, retained: 50 },
        { lag: null, retained: 0 },
      ]),
    ).toBe(0);
  });
});

describe('systemState', () => {
  const now = 100_000;
  // Three orders settled within the last second, two more within the slack, one long ago.
  const allowance = commitAllowance([10_000, 97_500, 98_500, 99_200, 99_500, 99_900], now, 1000);

  it('should allow what settled within the commit interval and the slack', () => {
    expect(allowance).toBe(5);
    expect(commitAllowance([], now, 1000)).toBe(0);
  });

  it('should be in step with every order seen while committed offsets trail by the commit interval', () => {
    expect(systemState({ running: true, missing: 0, lag: 4 }, allowance)).toEqual({ kind: 'in step' });
    expect(systemState({ running: true, missing: 0, lag: 0 }, 0)).toEqual({ kind: 'in step' });
  });

  it('should be catching up with an order missing or offsets further behind than the interval', () => {
    const missing = systemState({ running: true, missing: 2, lag: 0 }, allowance);
    expect(missing).toEqual({ kind: 'catching up', missing: 2, uncommitted: 0 });
    expect(stateText(missing)).toBe('catching up (2 missing)');
    const behind = systemState({ running: true, missing: 0, lag: 40 }, allowance);
    expect(stateText(behind)).toBe('catching up (40 uncommitted)');
    expect(stateText(systemState({ running: true, missing: 0, lag: undefined }, allowance))).toBe('catching up');
  });

  it('should say "no offsets yet" rather than a lag before the group committed, and STOPPED for a stopped system', () => {
    expect(stateText(systemState({ running: true, missing: 0, lag: null }, allowance))).toBe('no offsets yet');
    expect(stateText(systemState({ running: false, missing: 0, lag: 0 }, allowance))).toBe('STOPPED');
    expect(lagText(null)).toBe('no offsets yet');
    expect(lagText(undefined)).toBe('?');
    expect(lagText(0)).toBe('0');
  });
});

describe('newlyInStep', () => {
  it('should name a system that is in step again after a stop, and not one that never fell behind', () => {
    const before = new Map([
      ['topup', false],
      ['recon', true],
    ]);
    const now = new Map([
      ['topup', true],
      ['recon', true],
      ['clearing', true],
    ]);
    expect(newlyInStep(before, now)).toEqual(['topup']);
    expect(newlyInStep(now, now)).toEqual([]);
  });
});

describe('renderLine', () => {
  it("should show each system's lag and state, never a negative lag", () => {
    const row = (name: SystemRow['name'], lag: SystemRow['lag'], running = true): SystemRow => ({
      name,
      key: '1',
      running,
      distinct: 3,
      delivered: 3,
      expected: 3,
      missing: 0,
      lag,
      state: systemState({ running, missing: 0, lag }, 1),
      lastEventAt: null,
      figure: '-',
    });
    const line = renderLine({
      gatewayUrl: 'http://127.0.0.1:1',
      elapsedSeconds: 5,
      perSecond: 1,
      settled: 3,
      refused: 0,
      kafka: 'up',
      rows: [row('analytics', null), row('topup', 1), row('recon', 0, false)],
      notes: [],
      interactive: false,
    });
    expect(line).toBe(
      'demo 5s: 1/s settled 3 refused 0 kafka up | analytics 3/3 lag no offsets yet | topup 3/3 lag 1 in step | recon 3/3 lag 0 STOPPED\n',
    );
  });
});
