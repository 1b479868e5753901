/**
 * Subscriber scale of the subscription engine: the built gateway (node dist/main.js, NODE_ENV=production) in a process
 * of its own, the subscribers in another (scale-clients.ts), this process placing orders. For each step of the ramp:
 * resident memory per subscription, idle CPU of gateway and broker, broker connections, join time at 100/s, and
 * placeOrder response to event at every matching subscriber at 100 orders/s.
 *
 *   npm run build && npx tsx bench/engine/subscriber-scale.ts [1000,2000,5000,10000]
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { mintAccessToken } from '../../src/adapters/auth/access-tokens.js';
import { BENCH_SECRET, graphqlCaller, KAFKA_BROKERS, percentile, runBench, uniqueName } from '../support.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const steps = (process.argv[2] ?? '20,1000,2000,5000,10000').split(',').map(Number);
const ACCOUNTS = 64;
const say = (line: string) => process.stderr.write(`scale: ${line}\n`);

const cpuTicks = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]);
};
const rssKib = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
/** Share of one core used by each pid over `ms`. */
async function cpuShare(pids: number[], ms: number): Promise<number[]> {
  const before = pids.map(cpuTicks);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return pids.map((pid, i) => ((cpuTicks(pid) - (before[i] ?? 0)) * 10) / ms);
}
const brokerConnections = (pid: number) => {
  const inodes = new Set<string>();
  for (const fd of readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)) {
    const cols = fd.trim().split(/\s+/);
    const remotePort = Number.parseInt(cols[2]?.split(':')[1] ?? '0', 16);
    if (remotePort === Number(KAFKA_BROKERS.split(':')[1]) && cols[3] === '01') inodes.add(cols[9] ?? '');
  }
  // /proc/PID/net/tcp lists the namespace's sockets: keep only this process's own fds.
  const own = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const link = (() => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })();
    const inode = /socket:\[(\d+)\]/.exec(link)?.[1];
    if (inode && inodes.has(inode)) own.add(inode);
  }
  return own.size;
};

function request<T>(child: ChildProcess, message: object, reply: string): Promise<T> {
  return new Promise((resolve) => {
    const listen = (m: { type: string }) => {
      if (m.type !== reply) return;
      child.off('message', listen);
      resolve(m as T);
    };
    child.on('message', listen);
    child.send(message);
  });
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1]);
}

async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

runBench(async (databaseUrl) => {
  const topic = uniqueName('bench-scale').replaceAll('_', '-');
  const gateway = spawn(process.execPath, [...(process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean), 'dist/main.js'], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: '0',
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS,
      ORDERS_TOPIC: topic,
      KAFKA_GROUP_PREFIX: 'bench',
      AUTH_JWT_SECRET: BENCH_SECRET,
      LOG_LEVEL: 'info',
      RATE_LIMIT_PER_SECOND: '0',
      SUBSCRIPTIONS_PER_CALLER: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.once('exit', () => gateway.kill('SIGKILL'));
  const listening = portOf(gateway);
  if (process.env.BENCH_GATEWAY_LOG) {
    const { createWriteStream } = await import('node:fs');
    gateway.stdout?.pipe(createWriteStream(process.env.BENCH_GATEWAY_LOG));
  }
  const brokerPid = Number(readFileSync(process.env.BROKER_PID_FILE ?? `${root}.cache/kafka-run/9092/broker.pid`, 'utf8'));
  await waitUntil('the gateway', async () => {
    try {
      return (await fetch(`http://127.0.0.1:${await listening}/readyz`)).status === 200;
    } catch {
      return false;
    }
  });
  const url = `http://127.0.0.1:${await listening}`;
  const pid = gateway.pid ?? 0;
  const token = await mintAccessToken(BENCH_SECRET, { sub: 'bench', scope: ['accounts:write', 'orders:write', 'orders:read:all'] });
  const call = graphqlCaller(url, token);
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `scale-${i}`);
  for (const id of [...accounts, 'scale-join']) {
    await call('mutation($i: OpenAccountInput!) { openAccount(input: $i) { id } }', { i: { id, owner: id, currency: 'USD' } });
    await call('mutation($i: DepositInput!) { deposit(input: $i) { id } }', {
      i: { accountId: id, amount: '1000000000', idempotencyKey: `seed-${id}` },
    });
  }
  await call('mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }', {
    i: { accountId: 'scale-join', amount: '1', currency: 'USD', product: 'phone-topup', idempotencyKey: 'join-seed' },
  });

  // The raw baseline in the same run: a bare kafkajs consumer on the same topic, in this process.
  const bare = new Kafka({ clientId: 'bench-bare', brokers: [KAFKA_BROKERS], logLevel: logLevel.NOTHING }).consumer({
    groupId: uniqueName('bench-bare'),
    maxWaitTimeInMs: 100,
  });
  const bareReceipts = new Map<string, number>();
  await bare.connect();
  await bare.subscribe({ topic, fromBeginning: false });
  await bare.run({
    eachMessage: async ({ message }) => {
      const id = (JSON.parse(String(message.value)) as { data?: { id?: string } }).data?.id;
      if (id) bareReceipts.set(id, Date.now());
    },
  });
  process.once('exit', () => void bare.disconnect());
  const clients = fork(fileURLToPath(new URL('./scale-clients.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, SCALE_URL: url, SCALE_TOKEN: token },
  });
  process.once('exit', () => clients.kill('SIGKILL'));
  await new Promise((resolve) => clients.once('message', resolve));
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const baseRss = rssKib(pid);
  const rows: Record<string, string | number>[] = [];
  let open = 0;
  let orderNumber = 0;
  for (const step of steps) {
    say(`opening subscriptions up to ${step}`);
    const { errors, reasons } = await request<{ errors: number; reasons: Record<string, number> }>(
      clients,
      { type: 'open', count: step - open, perSecond: 400, accounts, durableEvery: 10 },
      'opened',
    );
    open = step;
    // A subscription refused or dropped under load is counted, not waited for.
    let last = -1;
    let steadySince = Date.now();
    await waitUntil(`${step} subscriptions`, async () => {
      const active = await metric(url, 'gateway_subscriptions_active');
      if (active !== last) steadySince = Date.now();
      last = active;
      return active >= step || Date.now() - steadySince > 15_000;
    });
    if (last < step) say(`${step}: ${last} subscriptions active (${errors} client errors so far: ${JSON.stringify(reasons)})`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const rssSamples: number[] = [];
    for (let i = 0; i < 5; i++) {
      rssSamples.push(rssKib(pid));
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const rss = rssSamples.sort((a, b) => a - b)[2] ?? 0;
    say(`${step}: idle CPU for 5 s`);
    const [gatewayCpu, brokerCpu] = await cpuShare([pid, brokerPid], 5000);
    say(`${step}: join time, 50 subscriptions at 100/s`);
    const { joins } = await request<{ joins: number[] }>(
      clients,
      { type: 'join', count: 50, perSecond: 100, account: 'scale-join' },
      'joined',
    );
    say(`${step}: 100 orders/s for 5 s`);
    await request(clients, { type: 'receipts' }, 'receipts');
    const responded = new Map<string, { at: number; account: string }>();
    const started = Date.now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < 500; i++) {
      const due = started + i * 10;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const account = accounts[i % ACCOUNTS] ?? '';
      inFlight.push(
        call('mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }', {
          i: { accountId: account, amount: '1', currency: 'USD', product: 'phone-topup', idempotencyKey: `o-${orderNumber++}` },
        }).then((data) => {
          const id = data?.placeOrder?.id;
          if (id) responded.set(id, { at: Date.now(), account });
        }),
      );
    }
    await Promise.all(inFlight);
    const expected = [...responded.keys()].length * (step / ACCOUNTS);
    let receipts: [string, number][] = [];
    const deadline = Date.now() + 30_000;
    while (receipts.length < expected * 0.999 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      receipts = receipts.concat((await request<{ receipts: [string, number][] }>(clients, { type: 'receipts' }, 'receipts')).receipts);
    }
    const delays = receipts.flatMap(([id, at]) => {
      const response = responded.get(id);
      return response ? [Math.max(0, at - response.at)] : [];
    });
    delays.sort((a, b) => a - b);
    joins.sort((a, b) => a - b);
    const bareDelays = [...responded].flatMap(([id, { at }]) => {
      const received = bareReceipts.get(id);
      return received === undefined ? [] : [Math.max(0, received - at)];
    });
    bareDelays.sort((a, b) => a - b);
    rows.push({
      subscriptions: step,
      active: last,
      'rss/subscription KiB': Math.round((rss - baseRss) / step),
      'gateway idle CPU %': Math.round((gatewayCpu ?? 0) * 100),
      'broker idle CPU %': Math.round((brokerCpu ?? 0) * 100),
      'broker connections': brokerConnections(pid),
      'join p50 ms': Math.round(percentile(joins, 50)),
      'join p99 ms': Math.round(percentile(joins, 99)),
      'events expected': expected,
      'events received': delays.length,
      'e2e p50 ms': Math.round(percentile(delays, 50)),
      'e2e p99 ms': Math.round(percentile(delays, 99)),
      'e2e max ms': Math.round(delays.at(-1) ?? Number.NaN),
      'bare kafkajs p50 ms': Math.round(percentile(bareDelays, 50)),
      'bare kafkajs p99 ms': Math.round(percentile(bareDelays, 99)),
    });
    console.table(rows.slice(-1));
  }
  console.log('\nsubscriber scale (one websocket per subscription, a tenth durable)');
  console.table(rows);
  mkdirSync(`${root}bench/results`, { recursive: true });
  writeFileSync(
    `${root}bench/results/subscriber-scale-engine.json`,
    `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`,
  );
  await request(clients, { type: 'close' }, 'closed');
  await bare.disconnect();
  gateway.kill('SIGTERM');
  await new Promise((resolve) => gateway.once('exit', resolve));
});

let knownPort: number | undefined;
function portOf(child: ChildProcess): Promise<number> {
  if (knownPort !== undefined) return Promise.resolve(knownPort);
  return new Promise((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.includes('"gateway is listening"')) {
          knownPort = (JSON.parse(line) as { port: number }).port;
          resolve(knownPort);
        }
      }
    });
  });
}
