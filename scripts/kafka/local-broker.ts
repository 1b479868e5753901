/**
 * A local broker (scripts/kafka/kafka.sh) on 127.0.0.1:`port`, as the scripts use it: the demo and the bench start
 * one when none answers and stop only the one they started; the bench's relay-drain scenario starts a private one
 * and pauses it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ScriptFailure } from '../fail-in-one-line.js';
import { brokerAnswers } from './broker-answers.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const script = fileURLToPath(new URL('./kafka.sh', import.meta.url));

/** Where kafka.sh keeps the pid of the broker on `port`. */
export const brokerPidFile = (port: number): string => fileURLToPath(new URL(`../../.cache/kafka-run/${port}/broker.pid`, import.meta.url));

export interface LocalBroker {
  readonly port: number;
  /** `127.0.0.1:port`, for KAFKA_BROKERS. */
  readonly brokers: string;
  /** True when this process started the broker: only then may it pause or stop it. */
  readonly owned: boolean;
  /** The broker's pid when owned (from kafka.sh's pidfile). */
  pid(): number | undefined;
  /** SIGSTOP: connections stay open, and clients see a broker that stopped answering rather than one that left. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stops the broker if owned (and resumes it first if paused); otherwise does nothing. Safe to call twice. */
  stop(): Promise<void>;
}

export interface LocalBrokerOptions {
  /** 'always' for a private broker; 'when none answers' to use one that already runs. @default 'when none answers' */
  start?: 'always' | 'when none answers';
  /** Called before the start begins, so that an interrupted start can be stopped too. */
  starting?: (broker: LocalBroker) => void;
  /** kafka.sh's own lines (stderr) go here; silent when not given. */
  log?: (chunk: string) => void;
}

/** A broker on 127.0.0.1:`port`, started here (kafka.sh start) when asked or when none answers. */
export async function localBroker(
  port: number,
  { start = 'when none answers', starting, log }: LocalBrokerOptions = {},
): Promise<LocalBroker> {
  const owned = start === 'always' || !(await brokerAnswers(port));
  let paused = false;
  let stopped: Promise<void> | undefined;
  const kafkaSh = async (command: 'start' | 'stop', timeout: number) => {
    const child = run('bash', [script, command, String(port)], { cwd: root, timeout });
    child.child.stderr?.on('data', (chunk: Buffer) => log?.(chunk.toString()));
    await child;
  };
  const pid = () => {
    if (!owned) return undefined;
    try {
      return Number(readFileSync(brokerPidFile(port), 'utf8').trim());
    } catch {
      return undefined;
    }
  };
  const signal = (name: 'SIGSTOP' | 'SIGCONT') => {
    const target = pid();
    if (target !== undefined) process.kill(target, name);
  };
  const broker: LocalBroker = {
    port,
    brokers: `127.0.0.1:${port}`,
    owned,
    pid,
    pause() {
      if (!owned) return;
      signal('SIGSTOP');
      paused = true;
    },
    resume() {
      if (!paused) return;
      signal('SIGCONT');
      paused = false;
    },
    stop() {
      if (!owned) return Promise.resolve();
      stopped ??= (async () => {
        broker.resume();
        await kafkaSh('stop', 60_000);
      })();
      return stopped;
    },
  };
  if (owned) {
    starting?.(broker);
    try {
      await kafkaSh('start', 180_000);
    } catch (error) {
      const reason = (error as { stderr?: string }).stderr?.trim().split('\n').at(-1) ?? (error as Error).message;
      throw new ScriptFailure(
        `the local Kafka broker on 127.0.0.1:${port} did not start (${reason}); or set KAFKA_BROKERS to a running broker`,
      );
    }
  }
  return broker;
}
