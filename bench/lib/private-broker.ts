import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './child-server.js';

const run = promisify(execFile);
const SCRIPT = join(ROOT, 'scripts/kafka/kafka.sh');

/**
 * A broker of the suite's own on `port` (never the shared one): the relay-drain scenario pauses it. pause() and
 * resume() send SIGSTOP and SIGCONT to its process, so its connections stay open and the gateway sees a broker
 * that stopped answering, not one that went away.
 */
export async function startPrivateBroker(port: number) {
  await run('bash', [SCRIPT, 'start', String(port)], { cwd: ROOT, timeout: 180_000 });
  const pid = Number(readFileSync(join(ROOT, '.cache/kafka-run', String(port), 'broker.pid'), 'utf8').trim());
  let paused = false;
  return {
    brokers: `127.0.0.1:${port}`,
    pid,
    pause() {
      process.kill(pid, 'SIGSTOP');
      paused = true;
    },
    resume() {
      process.kill(pid, 'SIGCONT');
      paused = false;
    },
    async stop() {
      if (paused) process.kill(pid, 'SIGCONT');
      await run('bash', [SCRIPT, 'stop', String(port)], { cwd: ROOT, timeout: 60_000 });
    },
  };
}
