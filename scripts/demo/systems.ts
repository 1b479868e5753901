/** The five downstream systems as separate processes the demo can stop, kill and start again. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './stack.js';

export const SYSTEM_NAMES = ['topup', 'recon', 'clearing', 'analytics', 'notify'] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

const scripts: Record<SystemName, string> = {
  topup: 'examples/topup.ts',
  recon: 'examples/reconciliation.ts',
  clearing: 'examples/clearing.ts',
  analytics: 'examples/analytics.ts',
  notify: 'examples/notifications.ts',
};

export interface SystemProcess {
  name: SystemName;
  running(): boolean;
  pid(): number | undefined;
  /** Every pid this system ever had (so a caller can check none is left). */
  pids: number[];
  start(): void;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function systemProcess(name: SystemName, env: Record<string, string>, stateDir: string): SystemProcess {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const pids: number[] = [];
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    name,
    pids,
    running: alive,
    pid: () => (alive() ? child?.pid : undefined),
    start() {
      if (alive()) return;
      mkdirSync(join(stateDir, name), { recursive: true });
      const log = createWriteStream(join(stateDir, name, 'process.log'), { flags: 'a' });
      const started = spawn(process.execPath, ['--import', 'tsx', scripts[name]], {
        cwd: root,
        env: { ...process.env, ...env, EXAMPLES_STATE_DIR: stateDir },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      started.stdout?.pipe(log);
      started.stderr?.pipe(log);
      if (started.pid !== undefined) pids.push(started.pid);
      exited = new Promise((resolve) => started.once('exit', () => resolve()));
      child = started;
    },
    async stop(signal = 'SIGTERM') {
      if (alive()) child?.kill(signal);
      const force = setTimeout(() => child?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(force);
    },
  };
}
