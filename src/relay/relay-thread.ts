import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import type { RelayMetricsObserver } from './compose-relay.js';
import type { OutboxRelay } from './outbox-relay.js';

/** What the worker posts to the thread that started it. */
export type RelayThreadReport =
  | { type: 'started' }
  | { type: 'state'; active: boolean; pending: number }
  /** The relay's sends since the last report: `published` holds pairs of (records, seconds). */
  | { type: 'sends'; published: number[]; failed: number }
  /** The oldest unpublished row's age, sampled while this relay holds the lease; null otherwise or when there is none. */
  | { type: 'backlog'; oldestAgeSeconds: number | null }
  | { type: 'log'; line: string }
  | { type: 'stopped' }
  | { type: 'failed'; message: string };

/** What the starting thread posts to the worker. */
export type RelayThreadCommand = { type: 'wake' } | { type: 'stop' };

/** Slot 0 of the shared wake flag: 1 once a wake was posted since the relay's last read (the worker lowers it before each read). */
export const WAKE_POSTED = 0;

export interface RelayThreadOptions {
  /** The worker's entry module (`relay-worker.js`, or `.ts` when run from sources through tsx). */
  script: URL;
  /** Given to the worker as `workerData.config`: how it builds its relay. */
  config: unknown;
  /** The worker's log lines are written through this logger. */
  logger: Logger;
  /** How long to wait before starting a worker that died again. @default 1000 */
  restartMs?: number;
  /** Told of the worker's sends and backlog samples, as they arrive (metrics). */
  observer?: RelayThreadObserver;
}

/** The relay's observer and backlog samples, carried over from the worker. */
export type RelayThreadObserver = RelayMetricsObserver;

const LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/**
 * The outbox relay on a thread of its own: under load the gateway's event loop is busy with requests, and each of
 * the relay's round trips (read, send, mark) waited a turn of it (tens of ms at saturation). The relay's interface
 * is the same as in-process; `isActive` and `pending` are the worker's last report.
 */
export function startRelayThread(options: RelayThreadOptions): OutboxRelay {
  const { logger, observer } = options;
  const restartMs = options.restartMs ?? 1000;
  const wakeFlag = new Int32Array(new SharedArrayBuffer(4));
  let worker: Worker | null = null;
  let active = false;
  let pending = 0;
  let stopping = false;
  let stopped: (() => void) | null = null;
  let restartTimer: NodeJS.Timeout | null = null;

  const relog = (line: string) => {
    try {
      const { level, msg, time: _time, ...fields } = JSON.parse(line) as Record<string, unknown>;
      logger[LEVELS[Number(level)] ?? 'info'](fields, String(msg ?? ''));
    } catch {
      logger.info({ line }, 'outbox relay thread wrote a line that is not JSON');
    }
  };

  const spawn = () =>
    new Promise<void>((resolve, reject) => {
      const started = options.script.pathname.endsWith('.ts')
        ? // From sources (tests, npm run dev): `--import tsx` in execArgv does not reach a worker's entry on Node 20.
          new Worker(
            `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(options.script.href)}); })`,
            {
              eval: true,
              workerData: { config: options.config, wakeFlag },
            },
          )
        : new Worker(options.script, { workerData: { config: options.config, wakeFlag } });
      worker = started;
      let running = false;
      started.on('message', (report: RelayThreadReport) => {
        if (report.type === 'log') relog(report.line);
        else if (report.type === 'state') {
          active = report.active;
          pending = report.pending;
        } else if (report.type === 'sends') {
          for (let i = 0; i + 1 < report.published.length; i += 2)
            observer?.published(report.published[i] ?? 0, report.published[i + 1] ?? 0);
          for (let i = 0; i < report.failed; i++) observer?.publishFailed();
        } else if (report.type === 'backlog') observer?.oldestPending(report.oldestAgeSeconds);
        else if (report.type === 'started') {
          running = true;
          resolve();
        } else if (report.type === 'stopped') stopped?.();
        else if (report.type === 'failed') logger.error({ reason: report.message }, 'outbox relay thread failed');
      });
      started.on('error', (error) => logger.error({ err: error }, 'outbox relay thread crashed'));
      started.on('exit', (code) => {
        active = false;
        observer?.oldestPending(null);
        if (worker === started) worker = null;
        stopped?.();
        if (!running) return reject(new Error(`the outbox relay thread exited (${code}) before it started`));
        if (stopping) return;
        logger.error({ code, restartInMs: restartMs }, 'the outbox relay thread exited; starting another');
        restartTimer = setTimeout(() => {
          restartTimer = null;
          if (!stopping) spawn().catch((error: unknown) => logger.error({ err: error }, 'could not restart the outbox relay thread'));
        }, restartMs);
      });
    });

  const post = (command: RelayThreadCommand) => worker?.postMessage(command);

  return {
    start: spawn,
    async stop() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      const current = worker;
      if (!current) return;
      const done = new Promise<void>((resolve) => {
        stopped = resolve;
      });
      post({ type: 'stop' });
      await done;
      await current.terminate();
      active = false;
    },
    get isActive() {
      return active;
    },
    get pending() {
      return pending;
    },
    wake() {
      // One message per relay read: under load every order commits, and the relay needs one nudge per pass.
      if (Atomics.exchange(wakeFlag, WAKE_POSTED, 1) === 0) post({ type: 'wake' });
    },
  };
}
