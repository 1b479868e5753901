import { join } from 'node:path';
import { runDurableSubscription } from './durable-subscription.js';
import { type Applied, noneApplied, type SettledEvent } from './settled-event.js';
import { stateFile } from './state-file.js';
import { logger, stopOnSignals, systemEnv } from './system-env.js';

export interface SubscribedSystem<F> {
  /** Its state folder under EXAMPLES_STATE_DIR and the prefix of its log lines. */
  name: string;
  subscriberId: string;
  filter?: Record<string, unknown>;
  initialFigure: () => F;
  /** Changes the figure for an event seen for the first time. */
  apply: (figure: F, event: SettledEvent) => void;
}

export type SystemState<F> = Applied & { figure: F; firstAppliedAt?: string };

/**
 * The gateway commits a durable group's offsets about once a second, and COMMITTED on a group
 * without offsets means LATEST: a system killed right after its first events would skip what
 * came between. Until its first event is well past that interval it asks for EARLIEST (the
 * eventIds it saved drop the repeats), afterwards for COMMITTED.
 */
const COMMITTED_AFTER_MS = 10_000;

/**
 * Runs a downstream system on the gateway: applies each event once (by eventId) and
 * saves its state after applying it, so a crash can only lead to a repeat, which the
 * saved eventIds drop. Returns the live state (for a timer of the system's own).
 */
export function runSubscribedSystem<F>(system: SubscribedSystem<F>) {
  const env = systemEnv(system.name);
  const log = logger(system.name);
  const file = stateFile<SystemState<F>>(join(env.stateDir, 'state.json'), () => ({ ...noneApplied(), figure: system.initialFigure() }));
  const state = file.load();
  log(`starting with ${Object.keys(state.applied).length} events applied`);
  const stop = runDurableSubscription({
    gatewayUrl: env.gatewayUrl,
    token: env.token,
    subscriberId: system.subscriberId,
    ...(system.filter && { filter: system.filter }),
    // A system with no state wants the history; one with state resumes at its group's offsets.
    start: () =>
      state.firstAppliedAt !== undefined && Date.now() - Date.parse(state.firstAppliedAt) > COMMITTED_AFTER_MS ? 'COMMITTED' : 'EARLIEST',
    onEvent: (event) => {
      state.delivered += 1;
      state.lastEventAt = new Date().toISOString();
      if (!(event.eventId in state.applied)) {
        system.apply(state.figure, event);
        state.applied[event.eventId] = event.order.id;
        state.firstAppliedAt ??= new Date().toISOString();
      }
      file.save(state);
    },
    log,
  });
  stopOnSignals(stop);
  return { env, state, save: () => file.save(state), log };
}
