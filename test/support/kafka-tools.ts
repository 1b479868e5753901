import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(`${root}scripts/kafka/pom.xml`, 'utf8'))?.[1];

/** One row of `kafka-consumer-groups.sh --describe --offsets`. */
export interface GroupOffsetRow {
  readonly topic: string;
  readonly partition: number;
  readonly currentOffset: bigint | undefined;
  readonly logEndOffset: bigint;
  readonly lag: bigint | undefined;
}

let fetching: Promise<void> | undefined;

/**
 * Fetches Kafka's jars (scripts/kafka/kafka.sh fetch) unless a complete set is there: the tools need them even when
 * the suite found a broker already running and so never started one (which fetches them). kafka.sh empties the
 * directory before filling it, so runs that fetch at once (vitest workers, two suites) take turns on a lock file;
 * the second finds the set complete and returns.
 */
export function ensureKafkaToolJars(): Promise<void> {
  fetching ??= (async () => {
    if (!version) throw new Error('no kafka.version in scripts/kafka/pom.xml');
    if (existsSync(`${root}.cache/kafka/${version}/lib/.complete`)) return;
    mkdirSync(`${root}.cache/kafka`, { recursive: true });
    const script = `${root}scripts/kafka/kafka.sh`;
    // flock(1) is util-linux, on every Linux; elsewhere fetch unlocked.
    const locked = await run('flock', ['--version']).then(
      () => true,
      () => false,
    );
    const options = { timeout: 600_000 };
    if (locked) await run('flock', [`${root}.cache/kafka/fetch.lock`, 'bash', script, 'fetch'], options);
    else await run('bash', [script, 'fetch'], options);
  })();
  fetching.catch(() => {
    fetching = undefined; // the next caller tries again
  });
  return fetching;
}

/** Kafka's own consumer-group tool (what `kafka-consumer-groups.sh` runs), from the jars the project fetched. */
export async function consumerGroupsTool(brokers: string, args: readonly string[]): Promise<string> {
  await ensureKafkaToolJars();
  const { stdout } = await run(
    'java',
    [
      '-cp',
      `${root}.cache/kafka/${version}/lib/*`,
      'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
      '--bootstrap-server',
      brokers,
      ...args,
    ],
    { timeout: 60_000, maxBuffer: 16 << 20 },
  );
  return stdout;
}

const optionalBigint = (text: string | undefined) => (text === undefined || text === '-' ? undefined : BigInt(text));

/** `--describe --offsets` of one group, parsed: one row per partition the group has offsets for. */
export async function describeGroupOffsets(brokers: string, groupId: string): Promise<GroupOffsetRow[]> {
  const output = await consumerGroupsTool(brokers, ['--describe', '--offsets', '--group', groupId]);
  const rows: GroupOffsetRow[] = [];
  for (const line of output.split('\n')) {
    const [group, topic, partition, current, end, lag] = line.trim().split(/\s+/);
    if (group !== groupId || topic === undefined || partition === undefined || end === undefined || !/^\d+$/.test(partition)) continue;
    rows.push({
      topic,
      partition: Number(partition),
      currentOffset: optionalBigint(current),
      logEndOffset: BigInt(end),
      lag: optionalBigint(lag),
    });
  }
  return rows.sort((a, b) => a.partition - b.partition);
}
