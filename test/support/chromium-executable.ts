/**
 * Which Chromium the browser tests drive, in this order: CHROMIUM_PATH; the one `npm ci` installs
 * (@sparticuz/chromium, Linux x64 only: a headless Chromium with the NSS libraries it needs, so a
 * machine without a system browser runs the suite); /usr/bin/chromium (Debian's package).
 *
 * The package ships Brotli-compressed files; they are unpacked once per version into
 * node_modules/.cache, under a temporary name renamed into place, so vitest runs starting together
 * never launch a half-written browser. We unpack them ourselves rather than through the package's
 * executablePath(), which trusts whatever sits at $TMPDIR/chromium, of any version.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createBrotliDecompress } from 'node:zlib';

const root = fileURLToPath(new URL('../..', import.meta.url));
const PACKAGE = '@sparticuz/chromium';
const DEBIAN_CHROMIUM = '/usr/bin/chromium';
const MARKER = '.complete';

export interface ChromiumExecutable {
  readonly path: string;
  /** Where it came from, for a line in the logs. */
  readonly source: 'CHROMIUM_PATH' | typeof PACKAGE | typeof DEBIAN_CHROMIUM;
  /** Extra environment the browser process needs (the package's own libraries and fonts). */
  readonly env: Record<string, string>;
}

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** The package's directory, or undefined when npm did not install it (another platform, or --omit=dev). */
function packageDir(): string | undefined {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve(PACKAGE)); // its entry point lies some levels below
  } catch {
    return undefined;
  }
  for (; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin', 'chromium.br')) && existsSync(join(dir, 'package.json'))) return dir;
  }
  return undefined;
}

const brotli = (file: string) => createReadStream(file, { highWaterMark: 1 << 22 }).pipe(createBrotliDecompress({ chunkSize: 1 << 21 }));

/** Unpacks one `.tar.br` with the system's tar. */
async function untar(file: string, into: string): Promise<void> {
  mkdirSync(into, { recursive: true });
  const tar = spawn('tar', ['-x', '-f', '-', '-C', into], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve, reject) => {
    tar.once('error', reject);
    tar.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${code} on ${file}: ${stderr.trim()}`))));
  });
  const [fed, ended] = await Promise.allSettled([pipeline(brotli(file), tar.stdin), exited]);
  // tar's own message says more than the broken pipe it leaves behind.
  if (ended.status === 'rejected') throw ended.reason;
  if (fed.status === 'rejected') throw fed.reason;
}

/** The package's Chromium unpacked in node_modules/.cache/sparticuz-chromium-<version>/, unpacking it first if needed. */
async function unpacked(dir: string): Promise<ChromiumExecutable> {
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  const target = join(root, 'node_modules', '.cache', `sparticuz-chromium-${version}`);
  const describe = (at: string): ChromiumExecutable => ({
    path: join(at, 'chromium'),
    source: PACKAGE,
    env: {
      // Its own libnss3/libnspr4 (built for Amazon Linux, which runs here too), ahead of any the system has.
      LD_LIBRARY_PATH: [join(at, 'al2023', 'lib'), join(at, 'swiftshader'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
      FONTCONFIG_FILE: join(at, 'fonts.conf'),
    },
  });
  const whole = (at: string) => {
    try {
      const [markedVersion, size] = readFileSync(join(at, MARKER), 'utf8').split('\n');
      return markedVersion === version && statSync(join(at, 'chromium')).size === Number(size);
    } catch {
      return false;
    }
  };
  if (whole(target)) return describe(target);

  const temp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(temp, { recursive: true });
    const bin = join(dir, 'bin');
    await Promise.all([
      pipeline(brotli(join(bin, 'chromium.br')), createWriteStream(join(temp, 'chromium'), { mode: 0o755 })),
      untar(join(bin, 'al2023.tar.br'), join(temp, 'al2023')),
      untar(join(bin, 'swiftshader.tar.br'), join(temp, 'swiftshader')),
      untar(join(bin, 'fonts.tar.br'), join(temp, 'fonts')),
    ]);
    // The package's fonts.conf names Lambda's directories; ours names the system's fonts and the package's Open Sans.
    writeFileSync(
      join(temp, 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>/usr/share/fonts</dir>\n  <dir>${join(target, 'fonts', 'fonts')}</dir>\n  <cachedir>${join(target, 'fontconfig-cache')}</cachedir>\n</fontconfig>\n`,
    );
    writeFileSync(join(temp, MARKER), `${version}\n${statSync(join(temp, 'chromium')).size}`);
    try {
      renameSync(temp, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      // Another run got there first; a broken leftover (an unpack killed half-way before the rename cannot leave one) is replaced.
      if (!whole(target)) {
        rmSync(target, { recursive: true, force: true });
        renameSync(temp, target);
      }
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  return describe(target);
}

let found: Promise<ChromiumExecutable> | undefined;

/** The browser to launch; rejects with one line saying how to get one. */
export function chromiumExecutable(): Promise<ChromiumExecutable> {
  found ??= (async (): Promise<ChromiumExecutable> => {
    const configured = process.env.CHROMIUM_PATH;
    if (configured) {
      if (!executable(configured))
        throw new Error(`CHROMIUM_PATH=${configured} is not an executable file: point it at a Chromium or Chrome program`);
      return { path: configured, source: 'CHROMIUM_PATH', env: {} };
    }
    const dir = platform() === 'linux' && arch() === 'x64' ? packageDir() : undefined;
    if (dir) return unpacked(dir);
    if (executable(DEBIAN_CHROMIUM)) return { path: DEBIAN_CHROMIUM, source: DEBIAN_CHROMIUM, env: {} };
    throw new Error(
      `no browser for the explorer tests: ${PACKAGE} (installed by npm ci) is for Linux x64 only, and ${DEBIAN_CHROMIUM} is missing; install Chromium (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome executable`,
    );
  })();
  return found;
}
