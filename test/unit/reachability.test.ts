import { afterEach, describe, expect, it } from 'vitest';
import { type DependencyCheck, type ReachabilityProbe, reachabilityProbe } from '../../src/observability/reachability.js';
import { observeFor, waitFor } from '../support/resources.js';

/** A check whose answers the test gives, one per call, and which counts calls in flight. */
function controlledCheck(name: string) {
  const pending: ((up: boolean) => void)[] = [];
  const stats = { calls: 0, inFlight: 0, maxInFlight: 0 };
  /** When set, new checks answer this at once instead of waiting for `answer`. */
  const control: { atOnce?: boolean } = {};
  const check: DependencyCheck = {
    name,
    check: () => {
      stats.calls++;
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      return new Promise<boolean>((resolve) => {
        const settle = (up: boolean) => {
          stats.inFlight--;
          resolve(up);
        };
        if (control.atOnce === undefined) pending.push(settle);
        else settle(control.atOnce);
      });
    },
  };
  const answer = (up: boolean) => {
    const next = pending.shift();
    if (!next) throw new Error(`no check of ${name} in flight`);
    next(up);
  };
  return { check, stats, control, answer, waiting: () => pending.length };
}

const probes: ReachabilityProbe[] = [];
afterEach(() => {
  for (const probe of probes.splice(0)) probe.stop();
});
const started = (checks: DependencyCheck[], intervalMs: number, timeoutMs = 5000, onCheck?: (name: string, up: boolean) => void) => {
  const probe = reachabilityProbe(checks, { intervalMs, timeoutMs, ...(onCheck && { onCheck }) });
  probes.push(probe);
  probe.start();
  return probe;
};

describe('reachabilityProbe', () => {
  it('should answer pending, and not ready, until the first check of each dependency answered', async () => {
    const postgres = controlledCheck('postgres');
    const kafka = controlledCheck('kafka');
    const probe = started([postgres.check, kafka.check], 10);
    expect(probe.statuses()).toEqual([
      ['postgres', 'pending'],
      ['kafka', 'pending'],
    ]);
    expect(probe.ready()).toBe(false);
    postgres.answer(true);
    await waitFor('postgres to be up', () => (probe.statuses()[0]?.[1] === 'up' ? true : undefined));
    expect(probe.statuses()[1]).toEqual(['kafka', 'pending']);
    expect(probe.ready()).toBe(false);
    kafka.answer(true);
    await waitFor('both to be up', () => (probe.ready() ? true : undefined));
    expect(probe.state).toEqual(
      new Map([
        ['postgres', true],
        ['kafka', true],
      ]),
    );
  });

  it('should keep one check per dependency in flight, however often its state is read', async () => {
    const kafka = controlledCheck('kafka');
    const probe = started([kafka.check], 1);
    // Reads never start a check; the schedule only starts the next once the last one answered.
    for (let round = 0; round < 5; round++) {
      await waitFor(`check ${round + 1} to start`, () => (kafka.waiting() === 1 ? true : undefined));
      for (let read = 0; read < 1000; read++) probe.statuses();
      expect(kafka.stats.inFlight).toBe(1);
      kafka.answer(round % 2 === 0);
    }
    expect(kafka.stats.maxInFlight).toBe(1);
    expect(kafka.stats.calls).toBeLessThanOrEqual(6);
  });

  it('should count a check past its timeout as down at once, yet start no other until it settled', async () => {
    const kafka = controlledCheck('kafka');
    const outcomes: boolean[] = [];
    kafka.control.atOnce = true;
    const probe = started([kafka.check], 1, 30, (_name, up) => outcomes.push(up));
    await waitFor('kafka to be up', () => (probe.ready() ? true : undefined));
    // The next check hangs: down after the 30 ms timeout, while the check is still out.
    delete kafka.control.atOnce;
    await waitFor('kafka to be down', () => (probe.statuses()[0]?.[1] === 'down' ? true : undefined));
    const callsWhileHung = kafka.stats.calls;
    expect(kafka.stats.inFlight).toBe(1);
    // A hundred intervals: a schedule that did not wait for the hung check would have started others.
    await observeFor(100);
    expect(kafka.stats.calls).toBe(callsWhileHung);
    // Its late answer is not taken (the timeout decided that check); the next one answers up.
    kafka.control.atOnce = true;
    kafka.answer(true);
    await waitFor('kafka to be up again', () => (probe.ready() ? true : undefined));
    expect(kafka.stats.maxInFlight).toBe(1);
    expect(outcomes.filter((up) => !up)).toHaveLength(1);
    expect(outcomes.slice(outcomes.indexOf(false) + 1).every((up) => up)).toBe(true);
  });

  it('should tell of a change once: the first answer when down, then each flip, never a repeated answer', async () => {
    const kafka = controlledCheck('kafka');
    const changes: boolean[] = [];
    const probe = reachabilityProbe([kafka.check], { intervalMs: 1, onChange: (_name, up) => changes.push(up) });
    probes.push(probe);
    probe.start();
    for (const up of [false, false, true, true, true, false, true]) {
      await waitFor('a check to start', () => (kafka.waiting() === 1 ? true : undefined));
      kafka.answer(up);
    }
    await waitFor('the last answer to be taken', () => (probe.ready() ? true : undefined));
    expect(changes).toEqual([false, true, false, true]);
  });

  it('should take a rejected check as down, and stop checking once stopped', async () => {
    let calls = 0;
    const failing: DependencyCheck = {
      name: 'postgres',
      check: async () => {
        calls++;
        throw new Error('connection refused');
      },
    };
    const probe = started([failing], 5);
    await waitFor('postgres to be down', () => (probe.statuses()[0]?.[1] === 'down' ? true : undefined));
    await waitFor('a few checks', () => (calls >= 3 ? true : undefined));
    probe.stop();
    const stoppedAt = calls;
    // Ten intervals: a schedule still running would have called again.
    await observeFor(50);
    expect(calls).toBe(stoppedAt);
  });
});
