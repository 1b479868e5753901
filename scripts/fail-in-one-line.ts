/**
 * How `npm run dev`, `demo`, `bench` and `token` end when something fails: one line that says what went wrong and
 * what to do, never a stack trace, unless `--verbose` is given or LOG_LEVEL=debug. failureLine() is the pure part
 * (an error in, a line out); runScript() wires it to a script's main and to errors no step caught.
 */

/** Thrown by a script for a failure it already put into words: its message is printed as it is. */
export class ScriptFailure extends Error {
  constructor(
    message: string,
    /** The exit status: 2 for a usage or configuration mistake, 1 otherwise. */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'ScriptFailure';
  }
}

interface ErrorFields {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  address?: unknown;
  port?: unknown;
  broker?: unknown;
  stack?: unknown;
  cause?: unknown;
  reason?: unknown;
}

const fieldsOf = (error: unknown): ErrorFields => (typeof error === 'object' && error !== null ? (error as ErrorFields) : {});

/** The error and the errors it wraps (`cause`, and AggregateError's list), outermost first. */
function chainOf(error: unknown): ErrorFields[] {
  const chain: ErrorFields[] = [];
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (typeof current === 'object' && current !== null && !seen.has(current) && chain.length < 10) {
    seen.add(current);
    const fields = fieldsOf(current);
    chain.push(fields);
    const inner = (current as { errors?: unknown }).errors;
    current = fields.cause ?? (Array.isArray(inner) ? inner[0] : undefined);
  }
  return chain;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
/** A message on one line: the first line of it, as a multi-line message would break the one-line promise. */
const firstLine = (message: string): string => message.split('\n')[0]?.trim() ?? '';

const hostPort = (fields: ErrorFields): string | undefined => {
  if (typeof fields.address === 'string' && typeof fields.port === 'number') return `${fields.address}:${fields.port}`;
  const match = /\b(\d{1,3}(?:\.\d{1,3}){3}|localhost|\[[0-9a-f:]+\]):(\d{1,5})\b/i.exec(text(fields.message));
  return match ? `${match[1]}:${match[2]}` : undefined;
};

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'CONNECT_TIMEOUT', 'EPIPE']);

/** PostgreSQL's SQLSTATE codes a newcomer meets, and what to do about each. */
const POSTGRES_CODES: Record<string, string> = {
  '3D000': 'create it, or unset DATABASE_URL so the script creates its own',
  '28P01': 'check the user and password in DATABASE_URL',
  '28000': 'check the user in DATABASE_URL (the server does not let it in)',
  '53300': 'the server has no connection left: stop what holds them, or raise max_connections',
  '57P03': 'the server is starting or stopping: try again in a few seconds',
};

/**
 * One line naming a failure this module knows (Kafka gone, a port taken, the database refused), or undefined for
 * anything else. Pure: reads the error's fields only.
 */
export function namedFailure(error: unknown): string | undefined {
  const chain = chainOf(error);
  const outer = chain[0];
  if (!outer) return undefined;
  // EmbeddedPostgresError (scripts/embedded-postgres.ts) keeps Error's name: its class says what it is.
  const kind = (typeof error === 'object' && error?.constructor?.name) || text(outer.name);
  if (kind === 'ScriptFailure') return firstLine(text(outer.message));
  if (kind === 'EmbeddedPostgresError') return `database: ${firstLine(text(outer.message))}`;

  const kafka = chain.find((e) => text(e.name).startsWith('KafkaJS'));
  if (kafka) {
    const broker = chain.map((e) => (typeof e.broker === 'string' ? e.broker : hostPort(e))).find(Boolean);
    const deepest = chain.filter((e) => text(e.name).startsWith('KafkaJS')).at(-1) ?? kafka;
    return `Kafka${broker ? ` at ${broker}` : ''} does not answer (${text(deepest.name)}: ${firstLine(text(deepest.message))}): start a broker with \`npm run kafka:start\`, or set KAFKA_BROKERS to one that runs`;
  }

  const listen = chain.find((e) => e.code === 'EADDRINUSE');
  if (listen) {
    const where = hostPort(listen) ?? 'the port';
    return `${where} is taken by another program: stop it, or choose another port (PORT for the gateway, --kafka-port for a broker)`;
  }

  const refused = chain.find((e) => e.name === 'PostgresError');
  if (refused) {
    const code = text(refused.code);
    const fix = POSTGRES_CODES[code] ?? 'check DATABASE_URL, or unset it to use the local or the embedded PostgreSQL';
    return `the database refused: ${firstLine(text(refused.message))} (${code}): ${fix}`;
  }

  const connection = chain.find((e) => CONNECTION_CODES.has(text(e.code)));
  if (connection) {
    const where = hostPort(connection) ?? 'a server';
    const fromPostgres = chain.some((e) => /[\\/]node_modules[\\/]postgres[\\/]/.test(text(e.stack)));
    return fromPostgres
      ? `the database at ${where} does not answer (${text(connection.code)}): start PostgreSQL there, or set DATABASE_URL to one that runs (unset, the script uses 127.0.0.1:5432 or starts its own)`
      : `nothing answers on ${where} (${text(connection.code)}): start what should listen there, or point the script at another address`;
  }
  return undefined;
}

/** The line a script prints when `error` ends it: the named failure, or the error's message and how to see more. */
export function failureLine(script: string, error: unknown): string {
  const named = namedFailure(error);
  if (named) return `${script}: ${named}`;
  const fields = fieldsOf(error);
  const message = firstLine(text(fields.message) || text(fields.reason) || String(error)) || 'failed';
  const name = text(fields.name);
  const shown = name && name !== 'Error' ? `${name}: ${message}` : message;
  return `${script}: ${shown} (run again with --verbose for the stack trace)`;
}

/** True when the caller asked for stack traces. */
export function wantsStackTraces(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  return argv.includes('--verbose') || env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace';
}

/** Removes --verbose, which runScript reads, from the arguments a script's own parser sees. */
export const withoutVerbose = (argv: readonly string[]): string[] => argv.filter((a) => a !== '--verbose');

/** Prints failureLine(), and the stack after it when wantsStackTraces(). */
export function printFailure(script: string, error: unknown): void {
  process.stderr.write(`${failureLine(script, error)}\n`);
  if (wantsStackTraces(process.argv, process.env)) {
    const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`${stack}\n`);
  }
}

/**
 * Runs a script's main and exits with its status. An error it throws, and one nothing caught (a rejected promise
 * of a client library's background work), end the process with the one line of failureLine().
 */
export function runScript(script: string, main: () => Promise<number>): void {
  const end = endInOneLine(script);
  main().then((code) => process.exit(code), end);
}

/**
 * Ends the process with the one line of failureLine() when an error reaches the top: one nothing caught, or a
 * top-level await that rejected (a script written without a main). Returns the ending, for a main's rejection.
 */
export function endInOneLine(script: string): (error: unknown) => never {
  const end = (error: unknown): never => {
    printFailure(script, error);
    process.exit(error instanceof ScriptFailure ? error.exitCode : 1);
  };
  process.on('uncaughtException', end);
  process.on('unhandledRejection', end);
  return end;
}
