// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are @topic name templates, ${VAR} is their syntax
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList } from '../support/cleanup.js';
import { declaredTopicsFixture } from '../support/declared-topics.js';
import { TEST_SECRET } from '../support/gateway.js';
import { collectOutput } from '../support/local-processes.js';
import { type TestGatewayEnv, testGatewayEnv } from '../support/test-env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cleanups = cleanupList();
let env: TestGatewayEnv;

beforeAll(async () => {
  env = await testGatewayEnv(cleanups, 'declared-startup');
});

afterAll(() => cleanups.run());

/** `node --import tsx src/main.ts` with one extra SDL file; resolves when it exits. */
function startGateway(schemaFile: string): Promise<{ code: number | null; stderr: string; both: string }> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...env,
    NODE_ENV: 'test',
    PORT: '0',
    AUTH_JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: 'info',
    SCHEMA_PATHS: declaredTopicsFixture(`broken/${schemaFile}`),
  };
  delete childEnv.DECLARED_TOPICS_NEVER_SET;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  // A gateway that started after all must not outlive the test.
  const guard = setTimeout(() => child.kill('SIGKILL'), 45_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stderr: output.stderr(), both: output.both() });
    }),
  );
}

const cases: [string, string, string][] = [
  [
    'no payload field',
    'no-payload-field.graphql',
    'Subscription.bareArrived: BareEvent has no payload field (one field of an object type, beside the envelope)',
  ],
  [
    'a filter field naming no payload field',
    'filter-names-no-field.graphql',
    'Subscription.crateStacked: filter field CrateFilter.colour names no field of Crate (a bound is min<Field> or max<Field>)',
  ],
  [
    'a key naming no payload field',
    'key-names-no-field.graphql',
    'Subscription.crateStacked: @topic key "orderRef" names no field of Crate',
  ],
  [
    'an owner naming no payload field',
    'owner-names-no-field.graphql',
    'Subscription.crateStacked: @topic owner "holderId" names no field of Crate',
  ],
  ['an unknown format', 'unknown-format.graphql', 'Subscription.crateStacked: @topic format AVRO is not a TopicFormat (CLOUDEVENTS, JSON)'],
  [
    'a ${VAR} that is unset and has no default',
    'unset-variable.graphql',
    'Subscription.crateStacked: @topic name "${DECLARED_TOPICS_NEVER_SET}" reads ${DECLARED_TOPICS_NEVER_SET}, which is not set and has no default',
  ],
];

describe('a broken @topic declaration in a SCHEMA_PATHS file', () => {
  it.each(cases)('should stop start-up with exit status 2 and one line naming the field and the rule: %s', async (_, file, message) => {
    const { code, stderr, both } = await startGateway(file);
    expect({ code, stderr: stderr.split('\n').filter(Boolean) }, both).toEqual({
      code: 2,
      stderr: [`graphql-kafka-gateway: ${message}`],
    });
  });
});
