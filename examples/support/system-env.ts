import { join } from 'node:path';

/** What every example is given: the gateway's address, its own token, where its state lives. */
export interface SystemEnv {
  gatewayUrl: string;
  token: string;
  stateDir: string;
}

export function systemEnv(name: string): SystemEnv {
  const need = (key: string) => {
    const value = process.env[key];
    if (!value) {
      process.stderr.write(`${name}: ${key} is required\n`);
      process.exit(2);
    }
    return value;
  };
  return {
    gatewayUrl: need('GATEWAY_URL'),
    token: need('GATEWAY_TOKEN'),
    stateDir: join(process.env.EXAMPLES_STATE_DIR ?? '.cache/examples', name),
  };
}

export const logger =
  (name: string) =>
  (line: string): void =>
    void process.stderr.write(`${new Date().toISOString()} ${name}: ${line}\n`);

/** Stops on SIGTERM/SIGINT after `stop` resolves. */
export function stopOnSignals(stop: () => Promise<void>): void {
  const once = () => {
    void stop().finally(() => process.exit(0));
  };
  process.once('SIGTERM', once);
  process.once('SIGINT', once);
}
