/**
 * Ports of the brokers and databases that single tests start for themselves. TEST_PORT_OFFSET
 * (default 0) shifts them all, so two checkouts can run their suites side by side on one machine.
 */
export function privatePort(base: number): number {
  const raw = process.env.TEST_PORT_OFFSET ?? '0';
  const offset = Number(raw);
  if (!Number.isInteger(offset) || offset < 0 || base + offset > 65_000) {
    throw new Error(`TEST_PORT_OFFSET must be a small non-negative integer, got "${raw}"`);
  }
  return base + offset;
}
