import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './child-server.js';

/** A bench helper process (a `.ts` under bench/, run with tsx) and a typed request/answer channel to it. */
export interface BenchChild<Request, Answer> {
  readonly pid: number;
  send(request: Request): void;
  /** Sends `request` and resolves with the child's next message. */
  ask(request: Request): Promise<Answer>;
  /** Sends `close` and waits for the child to exit (killed after 20 s). */
  close(): Promise<void>;
}

/**
 * Forks `script` with `setup` in the environment variable `setupVariable`, and resolves once the child's first
 * message (that it started) arrived. The child is killed if this process exits first.
 */
export async function forkBenchChild<Request extends { type: string }, Answer>(
  script: string,
  setupVariable: string,
  setup: Record<string, unknown>,
  closeRequest: Request,
): Promise<BenchChild<Request, Answer>> {
  const child: ChildProcess = fork(join(ROOT, script), [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, [setupVariable]: JSON.stringify(setup) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it started`)));
  });
  const send = (request: Request) => child.send(request);
  return {
    pid: child.pid as number,
    send,
    ask: (request) =>
      new Promise<Answer>((resolve) => {
        child.once('message', (answer: Answer) => resolve(answer));
        send(request);
      }),
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      send(closeRequest);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
