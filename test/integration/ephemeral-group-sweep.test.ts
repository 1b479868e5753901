import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { adminToken, startGatewayProcess, token } from '../support/gateway.js';
import { openFundedAccount, placeOrdersOn } from '../support/orders.js';
import { testKafka, uniqueName, waitFor } from '../support/resources.js';
import { connect, type Subscriber, subscribe } from '../support/subscriber.js';
import { type TestGatewayEnv, testGatewayEnv } from '../support/test-env.js';

// Two gateway processes on one topic and group prefix: `live` sweeps every ~1 s and takes a process silent for 3 s
// for gone; `victim` is SIGKILLed holding subscriptions, as the gateway with 10,000 of them was.
const SWEEP_MS = 1000;
const STALE_MS = 3000;
const IDLE_MS = 4000;
const CHURN_PER_MINUTE = 4;

const cleanups = cleanupList();
const kafka = testKafka();
const kafkaAdmin = kafka.admin();
let env: TestGatewayEnv;
let live: Awaited<ReturnType<typeof startGatewayProcess>>;
let admin: string;

const groups = async (start: string) =>
  (await kafkaAdmin.listGroups()).groups.map((g) => g.groupId).filter((groupId) => groupId.startsWith(start));
const sweepsLogged = () =>
  live.lines.filter((line) => line.includes('"component":"subscriptions"') && /swept|deleted the ephemeral/.test(line)).length;
const metricsText = async () => (await fetch(`${live.url}/metrics`)).text();

/** Opens subscriptions one by one and returns the ephemeral group each one made (the new one under the prefix). */
async function openEphemeral(url: string, account: string, count: number): Promise<{ subscribers: Subscriber[]; groupIds: string[] }> {
  const subscribers: Subscriber[] = [];
  const groupIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const before = new Set(await groups(`${env.KAFKA_GROUP_PREFIX}.ephemeral.`));
    const subscriber = subscribe(url, admin, { filter: { accountId: account } });
    cleanups.push(() => subscriber.close());
    subscribers.push(subscriber);
    const made = await waitFor(`ephemeral group ${i + 1} of ${count}`, async () => {
      const fresh = (await groups(`${env.KAFKA_GROUP_PREFIX}.ephemeral.`)).filter((g) => !before.has(g) && !groupIds.includes(g));
      return fresh.length === 1 ? fresh[0] : undefined;
    });
    groupIds.push(made);
  }
  return { subscribers, groupIds };
}

beforeAll(async () => {
  await kafkaAdmin.connect();
  cleanups.push(() => kafkaAdmin.disconnect());
  env = await testGatewayEnv(cleanups, 'sweep', {
    EPHEMERAL_GROUP_SWEEP_MS: String(SWEEP_MS),
    EPHEMERAL_GROUP_STALE_MS: String(STALE_MS),
    METRICS_REFRESH_MS: '300',
    METRICS_GROUP_LABELS: 'full',
  });
  live = await startGatewayProcess({
    ...env,
    DURABLE_GROUP_IDLE_MS: String(IDLE_MS),
    OFFSETS_REFRESH_MS: String(IDLE_MS / 2),
    SUBSCRIPTIONS_PER_CALLER_PER_MINUTE: String(CHURN_PER_MINUTE),
  });
  cleanups.push(() => live.kill());
  admin = await adminToken();
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(() => cleanups.run());

describe('consumer groups no gateway uses', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it("should sweep a SIGKILLed gateway's ephemeral groups, and never the live gateway's own nor a durable group", async () => {
    const account = uniqueName('acc');
    await openFundedAccount(live.url, admin, account, 1_000_000n);
    const mine = await openEphemeral(live.url, account, 3);

    // The victim sweeps rarely: what goes is the live gateway's doing.
    const victim = await startGatewayProcess({ ...env, EPHEMERAL_GROUP_SWEEP_MS: '600000' });
    cleanups.push(() => victim.kill());
    const victims = await openEphemeral(victim.url, account, 5);
    const subscriberId = uniqueName('kept');
    const durable = subscribe(victim.url, admin, { filter: { accountId: account }, subscriberId, start: 'EARLIEST' });
    cleanups.push(() => durable.close());
    const durableGroup = `${env.KAFKA_GROUP_PREFIX}.admin.${subscriberId}`;
    await waitFor('the durable group to exist', async () => ((await groups(durableGroup)).includes(durableGroup) ? true : undefined));
    const presences = await waitFor('both gateways to hold a presence group', async () => {
      const found = await groups(`${env.KAFKA_GROUP_PREFIX}.gateway-`);
      return found.length === 2 ? found : undefined;
    });

    const sweepsBeforeKill = sweepsLogged();
    await victim.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(
      "the victim's ephemeral groups and its presence group to be swept",
      async () => {
        const left = new Set(await groups(`${env.KAFKA_GROUP_PREFIX}.`));
        return victims.groupIds.every((g) => !left.has(g)) && presences.filter((g) => left.has(g)).length === 1 ? true : undefined;
      },
      30_000,
    );
    const sweptAfterMs = Date.now() - killedAt;
    // Not before the victim's presence went stale, and within a few sweeps after.
    expect(sweptAfterMs).toBeGreaterThanOrEqual(STALE_MS - 1000);
    expect(sweptAfterMs).toBeLessThan(STALE_MS + 4 * SWEEP_MS + 5000);
    // One line per sweep, with its count: five subscriptions' groups and the presence group.
    // The process writes its line after the deletion, through a pipe: it may arrive a moment after the groups went.
    const deletedLogged = () =>
      live.lines
        .filter((line) => line.includes('deleted the ephemeral groups of stopped gateways'))
        .reduce((sum, line) => sum + Number((JSON.parse(line) as { deleted?: number }).deleted), 0);
    await waitFor('the sweep to log its count', () => (deletedLogged() > 0 ? true : undefined), 5000);
    expect(deletedLogged()).toBe(victims.groupIds.length + 1);

    // The live gateway went on sweeping with its own subscriptions open: their groups stay, and they still deliver.
    await waitFor('three more sweeps', () => (sweepsLogged() >= sweepsBeforeKill + 3 ? true : undefined), 30_000);
    const left = new Set(await groups(`${env.KAFKA_GROUP_PREFIX}.`));
    expect(mine.groupIds.filter((g) => left.has(g))).toEqual(mine.groupIds);
    expect(left.has(durableGroup)).toBe(true);
    const placed = await placeOrdersOn(live.url, admin, account, 2, 'after-sweep');
    await Promise.all(mine.subscribers.map((s) => s.received(2)));
    expect(mine.subscribers.map((s) => s.events.map((e) => e.order.id).sort())).toEqual(mine.subscribers.map(() => [...placed].sort()));

    // The durable group nobody uses any more is listed as idle by the live gateway, by name, and kept.
    await waitFor(
      'the idle durable group in the metrics',
      async () => {
        const text = await metricsText();
        return /^gateway_idle_durable_groups 1$/m.test(text) &&
          text.includes(`gateway_idle_durable_group_last_used_seconds{group="${durableGroup}"}`)
          ? true
          : undefined;
      },
      30_000,
    );
    expect((await groups(durableGroup)).includes(durableGroup)).toBe(true);
  });

  it('should not list as idle a durable group a subscription holds, however long ago it was committed', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(live.url, admin, account, 1_000n);
    const subscriberId = uniqueName('held');
    const held = subscribe(live.url, admin, { filter: { accountId: account }, subscriberId });
    cleanups.push(() => held.close());
    const heldGroup = `${env.KAFKA_GROUP_PREFIX}.admin.${subscriberId}`;
    await waitFor('the held group in the lag metric', async () =>
      (await metricsText()).includes(`gateway_consumer_group_lag{group="${heldGroup}",topic=`) ? true : undefined,
    );
    // Nothing for its account is published, so its only commit is its start: older than the idle time by the end.
    const since = Date.now();
    await waitFor('the idle time to pass', () => (Date.now() - since > IDLE_MS + 1000 ? true : undefined), IDLE_MS + 5000);
    const text = await metricsText();
    expect(text).toContain(`gateway_consumer_group_lag{group="${heldGroup}",topic=`);
    expect(text).not.toContain(`gateway_idle_durable_group_last_used_seconds{group="${heldGroup}"}`);
    await held.close();
  });

  it("should refuse the subscription past a caller's minute of new ones with RATE_LIMITED and retryAfterSeconds, and serve another caller", async () => {
    const active = async () => Number((await metricsText()).match(/^gateway_subscriptions_active (\d+)/m)?.[1]);
    const churner = await token({ sub: uniqueName('churner'), scope: ['orders:read:all'] });
    const connection = connect(live.url, churner, { lazy: false });
    cleanups.push(() => connection.close());
    const before = await active();
    for (let i = 0; i < CHURN_PER_MINUTE; i++) {
      const subscriber = connection.subscribe({ filter: { accountId: uniqueName('none') } });
      await waitFor(`subscription ${i + 1} to start`, async () => ((await active()) === before + 1 ? true : undefined));
      // Completed at once, as a subscribe/complete loop does: each turn made and deleted a group.
      await subscriber.close();
      await waitFor(`subscription ${i + 1} to end`, async () => ((await active()) === before ? true : undefined));
      expect(subscriber.errors).toEqual([]);
    }
    const refused = connection.subscribe({ filter: { accountId: uniqueName('none') } });
    const [error] = await waitFor('the refusal', () => (refused.errors.length > 0 ? refused.errors : undefined));
    expect(error?.extensions?.code).toBe('RATE_LIMITED');
    // One of the minute's four comes back 15 s after it was used; the loop above took a moment of that.
    const retryAfterSeconds = Number((error?.extensions as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds);
    expect(retryAfterSeconds).toBeGreaterThanOrEqual(60 / CHURN_PER_MINUTE - 5);
    expect(retryAfterSeconds).toBeLessThanOrEqual(60 / CHURN_PER_MINUTE);
    expect(error?.message).toContain(`${CHURN_PER_MINUTE} subscriptions within the last minute`);
    expect(await active()).toBe(before);
    // The socket goes on, and another caller has an allowance of its own.
    expect(connection.closeCodes).toEqual([]);
    const other = connect(live.url, await token({ sub: uniqueName('other'), scope: ['orders:read:all'] }), { lazy: false });
    cleanups.push(() => other.close());
    const served = other.subscribe({ filter: { accountId: uniqueName('none') } });
    await waitFor("the other caller's subscription to start", async () => ((await active()) === before + 1 ? true : undefined));
    expect(served.errors).toEqual([]);
    await served.close();
  });

  it('should leave neither its presence group nor its ephemeral groups behind when a gateway stops cleanly', async () => {
    const presencesBefore = new Set(await groups(`${env.KAFKA_GROUP_PREFIX}.gateway-`));
    const stopping = await startGatewayProcess({ ...env, EPHEMERAL_GROUP_SWEEP_MS: '600000' });
    cleanups.push(() => stopping.kill());
    const presence = await waitFor('its presence group', async () =>
      (await groups(`${env.KAFKA_GROUP_PREFIX}.gateway-`)).find((g) => !presencesBefore.has(g)),
    );
    const account = uniqueName('acc');
    await openFundedAccount(stopping.url, admin, account, 1_000n);
    const { groupIds } = await openEphemeral(stopping.url, account, 2);
    expect(await stopping.kill('SIGTERM')).toBe(0);
    const left = new Set(await groups(`${env.KAFKA_GROUP_PREFIX}.`));
    expect([presence, ...groupIds].filter((g) => left.has(g))).toEqual([]);
  });
});
