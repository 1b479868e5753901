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

/** `cursor`: of the last event applied, saved with it, so a restart resumes right after what this system has. */
export type SystemState<F> = Applied & { figure: F; cursor?: string };

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
    // The gateway commits the group's offsets once an event is written to the socket, so events still in this
    // process's socket buffer when it crashes are behind the group's offsets: resuming after its own saved cursor
    // loses none of them. COMMITTED only when the cursor was refused (e.g. a gateway with another secret).
    resumeFrom: () =>
      state.cursor !== undefined
        ? { afterCursor: state.cursor }
        : { start: Object.keys(state.applied).length > 0 ? 'COMMITTED' : 'EARLIEST' },
    onCursorRefused: () => {
      log("the gateway refused the saved cursor; resuming from the group's committed offsets");
      delete state.cursor;
    },
    onEvent: (event) => {
      state.delivered += 1;
      state.lastEventAt = new Date().toISOString();
      if (!(event.eventId in state.applied)) {
        system.apply(state.figure, event);
        state.applied[event.eventId] = event.order.id;
      }
      state.cursor = event.cursor;
      file.save(state);
    },
    log,
  });
  stopOnSignals(stop);
  return { env, state, save: () => file.save(state), log };
}
