/**
 * Ports of the brokers and databases that single tests start for themselves, all in one table:
 * two files that picked the same port ran in parallel and stopped each other's broker.
 * A broker also takes the next port for its controller. TEST_PORT_OFFSET (default 0) shifts
 * them all, so two checkouts can run their suites side by side on one machine.
 */
export const PRIVATE_PORT_BASES = {
  outboxKafkaDown: 19392,
  offsetsRetention: 19492,
  demoKafka: 19592,
  subscriptionOutage: 19692,
  faultKafka: 19792,
  benchStartsBroker: 19892,
  readinessKafka: 19942,
  faultPostgres: 5497,
} as const;

export type PrivatePortName = keyof typeof PRIVATE_PORT_BASES;

export function privatePort(name: PrivatePortName): number {
  const raw = process.env.TEST_PORT_OFFSET ?? '0';
  const offset = Number(raw);
  const base = PRIVATE_PORT_BASES[name];
  if (!Number.isInteger(offset) || offset < 0 || base + offset > 65_000) {
    throw new Error(`TEST_PORT_OFFSET must be a small non-negative integer, got "${raw}"`);
  }
  return base + offset;
}
