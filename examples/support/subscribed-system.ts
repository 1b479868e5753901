import { join } from 'node:path';
import { durableSubscriptions } from './durable-subscription.js';
import type { Followed } from './followed-fields.js';
import { type Applied, noneApplied } from './settled-event.js';
import { stateFile } from './state-file.js';
import { logger, stopOnSignals, systemEnv } from './system-env.js';

export interface SubscribedSystem<F> {
  /** Its state folder under EXAMPLES_STATE_DIR and the prefix of its log lines. */
  name: string;
  /** One durable subscriber for every field it follows: its consumer group holds offsets for each of their topics. */
  subscriberId: string;
  /** The fields it follows (followed-fields.ts), each on its own subscription of one socket. */
  follows: Followed<F>[];
  initialFigure: () => F;
  /** Called on SIGTERM/SIGINT once the subscriptions have stopped: what else the system holds (a Kafka producer). */
  close?: () => Promise<void>;
}

/**
 * `cursors`: per field, of the last event applied, saved with it, so a restart resumes right after what this system
 * has (a cursor is bound to its field's topic, hence one per field).
 */
export type SystemState<F> = Applied & { figure: F; cursors: Record<string, string> };

/** A state saved before cursors were per field had one, of orderSettled. */
type Saved<F> = SystemState<F> & { cursor?: string };

/**
 * Runs a downstream system on the gateway: applies each event once (by eventId) and saves its state after applying
 * it, so a crash can only lead to a repeat, which the saved eventIds drop. Returns the live state (for a timer of the
 * system's own).
 */
export function runSubscribedSystem<F>(system: SubscribedSystem<F>) {
  const env = systemEnv(system.name);
  const log = logger(system.name);
  const initial = (): SystemState<F> => ({ ...noneApplied(), figure: system.initialFigure(), cursors: {} });
  const file = stateFile<Saved<F>>(join(env.stateDir, 'state.json'), initial);
  const { cursor, ...saved } = file.load();
  // A figure saved by an older version of the system lacks its newer members.
  const state: SystemState<F> = {
    ...saved,
    figure: { ...system.initialFigure(), ...saved.figure },
    cursors: saved.cursors ?? (cursor === undefined ? {} : { orderSettled: cursor }),
  };
  log(`starting with ${Object.keys(state.applied).length} events applied`);
  const subscriptions = durableSubscriptions(env.gatewayUrl, env.token, log);
  const refused = new Set<string>();
  for (const followed of system.follows) {
    const { field } = followed;
    subscriptions.follow({
      field,
      query: followed.query,
      subscriberId: system.subscriberId,
      ...(followed.filter && { filter: followed.filter }),
      // The gateway commits the group's offsets once an event is written to the socket, so events still in this
      // process's socket buffer when it crashes are behind the group's offsets: resuming after its own saved cursor
      // loses none of them. COMMITTED only when the gateway refused the cursor (e.g. one with another secret).
      // Without a cursor of this field, EARLIEST: COMMITTED would start a group with no offsets on the field's topic
      // at LATEST, and miss what was published while this system was down; the saved eventIds drop the repeats.
      resumeFrom: () => {
        const saved = state.cursors[field];
        if (saved !== undefined) return { afterCursor: saved };
        return { start: refused.has(field) ? 'COMMITTED' : 'EARLIEST' };
      },
      onCursorRefused: () => {
        log(`the gateway refused the saved ${field} cursor; resuming from the group's committed offsets`);
        delete state.cursors[field];
        refused.add(field);
      },
      onEvent: async (event) => {
        state.delivered += 1;
        state.lastEventAt = new Date().toISOString();
        if (!(event.eventId in state.applied)) {
          await followed.apply(state.figure, event);
          state.applied[event.eventId] = followed.orderIdOf(event);
        }
        state.cursors[field] = event.cursor;
        file.save(state);
      },
    });
  }
  stopOnSignals(async () => {
    await subscriptions.stop();
    await system.close?.();
  });
  return { env, state, save: () => file.save(state), log };
}
