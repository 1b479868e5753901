import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export { brokerAnswers } from '../../scripts/kafka/broker-answers.js';

const run = promisify(execFile);

export const LOCAL_KAFKA_SCRIPT = fileURLToPath(new URL('../../scripts/kafka/kafka.sh', import.meta.url));

/** A private broker on its own port, for tests that stop and start Kafka; `settings` are extra server.properties lines. */
export async function startPrivateBroker(
  port: number,
  settings: readonly string[] = [],
): Promise<{ brokers: string; start(): Promise<void>; stop(): Promise<void> }> {
  const env = { ...process.env, KAFKA_BROKER_SETTINGS: settings.join('\n') };
  const start = async () => {
    await run('bash', [LOCAL_KAFKA_SCRIPT, 'start', String(port)], { timeout: 180_000, env });
  };
  const stop = async () => {
    await run('bash', [LOCAL_KAFKA_SCRIPT, 'stop', String(port)], { timeout: 60_000, env });
  };
  await start();
  return { brokers: `127.0.0.1:${port}`, start, stop };
}
