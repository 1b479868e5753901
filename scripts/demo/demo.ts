/**
 * npm run demo: the decoupling story, live. Starts the database, the broker and the
 * gateway (as `npm run dev` does), five downstream systems as processes of their own
 * (examples/), and an order generator, and shows what each system saw. The top-up system
 * publishes its own final state to a topic of its own, which the gateway serves as
 * `topupCompleted` from examples/topups.graphql (SCHEMA_PATHS); the notification system
 * follows both that field and orderSettled.
 *
 *   npm run demo                              live view; keys 1-5, k, q
 *   npm run demo -- --seconds 60 --json       headless, prints a JSON summary
 *   ... --kill topup@6 --pause-kafka 10:3     SIGKILL topup at 6 s (restarted 2 s later), pause Kafka at 10 s for 3 s
 *   ... --delete-topic                        delete the topics and the systems' groups at the end (tests)
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { mintAccessToken } from '../../src/adapters/auth/access-tokens.js';
import { runScript } from '../fail-in-one-line.js';
import { type LocalBroker, localBroker } from '../kafka/local-broker.js';
import { type LocalPostgres, localPostgres } from '../local-postgres.js';
import { examplesSchemaPaths } from './examples-schema.js';
import { LagWatch, type Observed, observe, seenKeys, topUpKey } from './observe.js';
import { OPENING_DEPOSIT, orderGenerator } from './order-generator.js';
import { deleteTopicsAndGroups, ensureDatabase, ensureTopic, root, sleep, startGateway, untilTopicReady } from './stack.js';
import { commitAllowance, lagText, newlyInStep, systemState } from './system-state.js';
import { SYSTEM_NAMES, type SystemName, type SystemProcess, systemProcess } from './systems.js';
import { type Frame, renderFrame, renderLine, type SystemRow } from './view.js';

/**
 * The demo mints its systems' tokens itself, without audience, issuer or a lifetime bound: a shell that exports the
 * token rules of a real deployment must not make its own gateway refuse them (empty means unset).
 */
const OWN_TOKEN_RULES = { AUTH_JWT_AUDIENCE: '', AUTH_JWT_ISSUER: '', AUTH_MAX_TOKEN_LIFETIME: '' };

const fail = (line: string): never => {
  process.stderr.write(`demo: ${line}\n`);
  process.exit(2);
};

/** The command line; a mistake in it ends the demo with one line. */
function parseOptions() {
  try {
    return parseArgs({
      options: {
        seconds: { type: 'string' },
        json: { type: 'boolean', default: false },
        rate: { type: 'string', default: '5' },
        kill: { type: 'string', multiple: true, default: [] },
        'pause-kafka': { type: 'string', multiple: true, default: [] },
        'kafka-port': { type: 'string' },
        'state-dir': { type: 'string', default: '.cache/examples' },
        'catch-up-seconds': { type: 'string', default: '60' },
        /** Delete the topics and the systems' consumer groups before stopping (for tests). */
        'delete-topic': { type: 'boolean', default: false },
        /** Stack traces with the one-line failure (scripts/fail-in-one-line.ts reads it). */
        verbose: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    return fail(`${(error as Error).message}; see the top of scripts/demo/demo.ts for the options`);
  }
}
const { values } = parseOptions();
const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
if (seconds !== undefined && !(seconds > 0)) fail('--seconds must be a positive number');
if (values.json && seconds === undefined) fail('--json needs --seconds');
const kills = values.kill.map((k) => {
  const [name, at] = k.split('@');
  if (!SYSTEM_NAMES.includes(name as SystemName) || !(Number(at) >= 0)) fail(`--kill ${k}: use <${SYSTEM_NAMES.join('|')}>@<second>`);
  return { name: name as SystemName, at: Number(at) };
});
const pauses = values['pause-kafka'].map((p) => {
  const [at, duration] = p.split(':').map(Number);
  if (!(at! >= 0 && duration! > 0)) fail(`--pause-kafka ${p}: use <second>:<seconds>`);
  return { at: at!, duration: duration! };
});

const stateDir = resolve(root, values['state-dir']);
const DEMO_DATABASE = 'graphql_kafka_gateway_demo';
const kafkaPort = Number(values['kafka-port'] ?? /:(\d+)$/.exec(process.env.KAFKA_BROKERS ?? '')?.[1] ?? 9092);
const brokers = [`127.0.0.1:${kafkaPort}`];
// Its own topic by default: the demo's database is not the one `npm run dev` publishes from.
const topic = process.env.ORDERS_TOPIC ?? 'demo.orders.settled';
// The top-up system's topic: the gateway reads it (examples/topups.graphql), the demo creates it for that system.
const topupsTopic = process.env.TOPUPS_TOPIC ?? 'demo.topups.completed';
const TOPUPS_PARTITIONS = 3;
const groupPrefix = process.env.KAFKA_GROUP_PREFIX ?? 'gql';
const analyticsGroup = process.env.ANALYTICS_GROUP ?? 'analytics.ndjson';
const interactive = !values.json && process.stdin.isTTY === true && process.stdout.isTTY === true;
const runId = randomBytes(4).toString('hex');
const notes: string[] = [];
const note = (line: string) => {
  notes.push(`${new Date().toISOString().slice(11, 19)} ${line}`);
  if (!interactive) process.stderr.write(`demo: ${line}\n`);
};

/** The gateway's OFFSETS_COMMIT_INTERVAL_MS (src/config.ts): how far a durable group's offsets may trail while in step. */
const commitIntervalMs = Number(process.env.OFFSETS_COMMIT_INTERVAL_MS) || 1000;

/** Each system's consumer group: the gateway names a durable one `<prefix>.<token sub>.<subscriberId>`. */
const groupOf = (name: SystemName) =>
  name === 'analytics' ? analyticsGroup : `${groupPrefix}.${name}.${name === 'notify' ? 'notifications' : 'demo'}`;
/** The topics each group reads: notify's one group follows orderSettled and topupCompleted. */
const watched = SYSTEM_NAMES.map((name) => ({ group: groupOf(name), topics: name === 'notify' ? [topic, topupsTopic] : [topic] }));
/** Scopes of each system's token: every system reads every order; notify also every top-up. */
const scopesOf = (name: SystemName) => (name === 'notify' ? ['orders:read:all', 'topups:read:all'] : ['orders:read:all']);

async function main(): Promise<number> {
  mkdirSync(stateDir, { recursive: true });
  const startedPids: number[] = [];
  let local: LocalPostgres | undefined;
  let broker: LocalBroker | undefined;
  const secret = demoSecret();
  const env = { KAFKA_BROKERS: brokers.join(','), ORDERS_TOPIC: topic, TOPUPS_TOPIC: topupsTopic, KAFKA_GROUP_PREFIX: groupPrefix };
  const systems: SystemProcess[] = [];
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  let lagWatch: LagWatch | undefined;
  const generator: { stop(): void; done?: Promise<void> } = { stop: () => {} };
  let stopping: Promise<void> | undefined;
  const stopAll = () => {
    stopping ??= (async () => {
      generator.stop();
      await generator.done?.catch(() => {});
      await Promise.all(systems.map((s) => s.stop()));
      await gateway?.stop();
      await lagWatch?.close().catch(() => {});
      if (values['delete-topic']) await deleteTopicsAndGroups(brokers, [topic, topupsTopic], SYSTEM_NAMES.map(groupOf)).catch(() => {});
      await broker?.stop();
      await local?.stop();
    })();
    return stopping;
  };
  let quit: () => void = () => {};
  const quitting = new Promise<void>((resolve) => {
    quit = resolve;
  });
  process.once('SIGINT', () => quit());
  process.once('SIGTERM', () => quit());

  try {
    // The same choice as npm run dev: DATABASE_URL, else the server on LOCAL_POSTGRES_ADDRESS, else an embedded one.
    local = process.env.DATABASE_URL ? undefined : await localPostgres({ root, env: process.env, urlVariable: 'DATABASE_URL', say: note });
    if (local) note(`database: ${local.description}`);
    const databaseUrl = process.env.DATABASE_URL ?? local?.url(DEMO_DATABASE) ?? '';
    note(
      `run ${runId}: database ${new URL(databaseUrl).pathname.slice(1)}, broker ${brokers[0]}, topics ${topic} and ${topupsTopic}, state in ${stateDir}`,
    );
    await ensureDatabase(databaseUrl);
    // Started when none answers; known to stopAll from the moment its start begins.
    const kafka = await localBroker(kafkaPort, {
      starting: (starting) => {
        broker = starting;
      },
      log: (chunk) => {
        for (const line of chunk.split('\n').filter(Boolean)) note(line);
      },
    });
    broker = kafka;
    const brokerPid = kafka.pid();
    if (brokerPid !== undefined) startedPids.push(brokerPid);
    if (kafka.owned) note(`started a Kafka broker on ${brokers[0]} (pid ${brokerPid})`);
    await ensureTopic(brokers, topupsTopic, TOPUPS_PARTITIONS);
    gateway = await startGateway(
      {
        ...env,
        DATABASE_URL: databaseUrl,
        AUTH_JWT_SECRET: secret,
        SCHEMA_PATHS: examplesSchemaPaths(process.env),
        ...OWN_TOKEN_RULES,
      },
      join(stateDir, 'gateway.log'),
    );
    if (gateway.pid !== undefined) startedPids.push(gateway.pid);
    note(`gateway on ${gateway.url} (log in ${join(stateDir, 'gateway.log')})`);
    await untilTopicReady(brokers, topic);
    const week = 7 * 24 * 3600;
    const producerToken = await mintAccessToken(secret, {
      sub: 'demo-producer',
      scope: ['accounts:write', 'orders:write'],
      expiresInSeconds: week,
    });
    for (const name of SYSTEM_NAMES) {
      const token = await mintAccessToken(secret, { sub: name, scope: scopesOf(name), expiresInSeconds: week });
      const system = systemProcess(
        name,
        {
          ...env,
          GATEWAY_URL: gateway.url,
          GATEWAY_TOKEN: token,
          ANALYTICS_GROUP: analyticsGroup,
          RECON_OPENING_DEPOSIT: String(OPENING_DEPOSIT),
        },
        stateDir,
      );
      system.start();
      systems.push(system);
    }
    lagWatch = new LagWatch(brokers);
    const orders = orderGenerator(gateway.url, producerToken, runId);
    generator.stop = () => orders.stop();
    generator.done = orders.run(Number(values.rate));
    const started = Date.now();
    const elapsed = () => Math.floor((Date.now() - started) / 1000);

    const phoneTopUps = () => orders.settled.filter((o) => o.product === 'phone-topup');
    /** Keys (observe.ts) of what a system should have of this run: notify tells of every order and every top-up. */
    const expectedFor = (name: SystemName): string[] => {
      if (name === 'topup') return phoneTopUps().map((o) => o.id);
      const ids = orders.settled.map((o) => o.id);
      return name === 'notify' ? [...ids, ...phoneTopUps().map((o) => topUpKey(o.id))] : ids;
    };
    /** When what a system's group reads was published; a top-up's outcome, at about its order's settlement. */
    const publishedFor = (name: SystemName): number[] => [
      ...orders.settled.map((o) => o.at),
      ...(name === 'notify' ? phoneTopUps().map((o) => o.at) : []),
    ];
    let lag: Record<string, number | null> | undefined;
    let kafkaState = 'up';
    let lagBusy = false;
    const refreshLag = () => {
      if (lagBusy) return;
      lagBusy = true;
      void lagWatch
        ?.lag(watched)
        .then((found) => {
          lag = found;
          if (kafkaState !== 'PAUSED') kafkaState = found ? 'up' : 'not answering';
        })
        .finally(() => {
          lagBusy = false;
        });
    };
    const rows = (): { rows: SystemRow[]; observed: Record<SystemName, Observed> } => {
      const observed = {} as Record<SystemName, Observed>;
      const list = SYSTEM_NAMES.map((name, i): SystemRow => {
        const seen = observe(name, stateDir);
        observed[name] = seen;
        const keys = seenKeys(seen);
        const has = new Set(keys);
        const expected = expectedFor(name);
        const ofThisRun = expected.filter((key) => has.has(key)).length;
        const allowance = commitAllowance(publishedFor(name), Date.now(), commitIntervalMs);
        const running = systems[i]?.running() ?? false;
        const missing = expected.length - ofThisRun;
        const groupLag = lag === undefined ? undefined : (lag[groupOf(name)] ?? null);
        return {
          name,
          key: String(i + 1),
          running,
          distinct: ofThisRun,
          delivered: ofThisRun + Math.max(0, seen.delivered - keys.length),
          expected: expected.length,
          missing,
          lag: groupLag,
          state: systemState({ running, missing, lag: groupLag }, allowance),
          lastEventAt: seen.lastEventAt,
          figure: seen.figure,
        };
      });
      return { rows: list, observed };
    };
    const inStep = new Map<string, boolean>();
    const frame = (): Frame => {
      const { rows: list } = rows();
      const now = new Map(list.map((row) => [row.name, row.state.kind === 'in step']));
      for (const name of newlyInStep(inStep, now)) {
        const row = list.find((r) => r.name === name);
        note(`${name} caught up: ${row?.distinct}/${row?.expected}, nothing missed`);
      }
      // Behind during start-up is not worth a note: a system is known once it was in step, or a fault set it behind.
      for (const [name, state] of now) if (state || inStep.has(name)) inStep.set(name, state);
      const second = Date.now() - 1000;
      return {
        gatewayUrl: gateway?.url ?? '-',
        elapsedSeconds: elapsed(),
        perSecond: orders.settled.filter((o) => o.at > second).length,
        settled: orders.settled.length,
        refused: orders.refused,
        kafka: kafkaState,
        rows: list,
        notes,
        interactive,
      };
    };

    const faultsDone = { kills: 0, pauses: 0 };
    const restart = async (system: SystemProcess, signal: NodeJS.Signals) => {
      note(`${signal} ${system.name}`);
      await system.stop(signal);
      inStep.set(system.name, false);
      await sleep(2000);
      system.start();
      faultsDone.kills += 1;
      note(`started ${system.name} again`);
    };
    let pausedUntil = 0;
    const pauseKafka = async (ms: number) => {
      if (!kafka.owned) {
        note('not pausing Kafka: the demo did not start this broker (use --kafka-port with a free port)');
        return;
      }
      if (Date.now() < pausedUntil) return;
      pausedUntil = Date.now() + ms;
      kafkaState = 'PAUSED';
      for (const name of SYSTEM_NAMES) inStep.set(name, false);
      note(`Kafka paused (SIGSTOP) for ${ms / 1000} s`);
      kafka.pause();
      try {
        await sleep(ms);
      } finally {
        kafka.resume();
      }
      faultsDone.pauses += 1;
      kafkaState = 'up';
      note('Kafka resumed (SIGCONT)');
    };
    const faults: Promise<void>[] = [];
    for (const k of kills) {
      const system = systems[SYSTEM_NAMES.indexOf(k.name)]!;
      faults.push(sleep(k.at * 1000).then(() => restart(system, 'SIGKILL')));
    }
    for (const p of pauses) faults.push(sleep(p.at * 1000).then(() => pauseKafka(p.duration * 1000)));

    if (interactive) {
      process.stdin.setRawMode(true);
      process.stdin.resume();
      process.stdin.on('data', (key: Buffer) => {
        const k = key.toString();
        if (k === 'q' || k === '\u0003') quit();
        else if (k === 'k') void pauseKafka(5000);
        else if (new RegExp(`^[1-${SYSTEM_NAMES.length}]$`).test(k)) {
          const system = systems[Number(k) - 1]!;
          if (system.running()) {
            note(`stopped ${system.name} (SIGTERM); press ${k} to start it`);
            void system.stop('SIGTERM');
          } else {
            system.start();
            note(`started ${system.name}`);
          }
        }
      });
    }
    const ticker = setInterval(() => {
      refreshLag();
      const current = frame();
      if (interactive) process.stdout.write(renderFrame(current));
      else if (!values.json) process.stdout.write(renderLine(current));
    }, 1000);

    let caughtUp = true;
    if (seconds === undefined) await quitting;
    else {
      await Promise.race([sleep(seconds * 1000), quitting]);
      orders.stop();
      await generator.done;
      await Promise.all(faults);
      note(`generator stopped after ${orders.settled.length} settled, ${orders.refused} refused; waiting for every system to catch up`);
      caughtUp = await untilCaughtUp(() => rows(), Number(values['catch-up-seconds']) * 1000, quitting);
    }
    clearInterval(ticker);
    if (interactive) process.stdin.setRawMode(false);

    const { observed } = rows();
    const database = await settledInDatabase(databaseUrl, orders.accounts);
    await stopAll();
    for (const s of systems) startedPids.push(...s.pids);
    const summary = {
      runId,
      caughtUp,
      topic,
      seconds: seconds ?? elapsed(),
      generator: { settled: orders.settled.length, refused: orders.refused, retried: orders.retried },
      database: {
        settledCount: database.length,
        settledIds: database.map((o) => o.id),
        phoneTopupIds: database.filter((o) => o.product === 'phone-topup').map((o) => o.id),
      },
      topupsTopic,
      systems: Object.fromEntries(
        SYSTEM_NAMES.map((name) => {
          const seen = observed[name];
          const thisRun = new Set(database.map((o) => o.id));
          return [
            name,
            {
              group: groupOf(name),
              distinctEvents: seen.orderIds.length,
              delivered: seen.delivered,
              orderIds: seen.orderIds.filter((id) => thisRun.has(id)),
              ...(name === 'notify' && { topUpOrderIds: seen.topUpOrderIds.filter((id) => thisRun.has(id)) }),
              ...seen.numbers,
            },
          ];
        }),
      ),
      startedPids,
      faults: { kills, pauses, done: faultsDone },
    };
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else process.stdout.write(`demo: stopped. ${summary.generator.settled} settled, ${summary.generator.refused} refused.\n`);
    return caughtUp ? 0 : 1;
  } finally {
    await stopAll();
  }
}

/** Waits until every system has every order of this run and recon has checked since, with no one behind. */
async function untilCaughtUp(
  rows: () => { rows: SystemRow[]; observed: Record<SystemName, Observed> },
  timeoutMs: number,
  quitting: Promise<void>,
): Promise<boolean> {
  let quit = false;
  void quitting.then(() => {
    quit = true;
  });
  const deadline = Date.now() + timeoutMs;
  let allSeenAt: number | undefined;
  while (!quit && Date.now() < deadline) {
    const { rows: list, observed } = rows();
    if (list.every((r) => r.missing === 0)) {
      allSeenAt ??= (observed.recon.numbers.checks ?? 0) + 1;
      // A reconciliation check that started after every order arrived, finding no account behind.
      if ((observed.recon.numbers.checks ?? 0) > allSeenAt && observed.recon.numbers.behind === 0) return true;
    }
    await sleep(250);
  }
  note('gave up waiting for every system to catch up');
  for (const row of rows().rows.filter((r) => r.missing > 0)) {
    note(`${row.name} has ${row.distinct}/${row.expected} (lag ${lagText(row.lag)}); the end of its log:`);
    for (const line of logTail(join(stateDir, row.name, 'process.log'), 15)) note(`  ${line}`);
  }
  note("the gateway's last warnings and errors:");
  for (const line of logTail(join(stateDir, 'gateway.log'), 2000)
    .filter((l) => /"level":(4|5|6)\d/.test(l))
    .slice(-10))
    note(`  ${line}`);
  return false;
}

/**
 * The demo gateway's AUTH_JWT_SECRET, kept beside the systems' state: a deployment's secret outlives a restart, and
 * so do the cursors the systems saved (signed with a key derived from it).
 */
function demoSecret(): string {
  const file = join(stateDir, 'gateway-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

function logTail(path: string, lines: number): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines) : ['(no log)'];
}

async function settledInDatabase(url: string, accounts: string[]): Promise<{ id: string; product: string }[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await sql<{ id: string; product: string }[]>`select id, product from orders where account_id in ${sql(accounts)} order by id`;
  } finally {
    await sql.end();
  }
}

runScript('demo', main);
