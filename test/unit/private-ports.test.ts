import { describe, expect, it } from 'vitest';
import { PRIVATE_PORT_BASES } from '../support/private-ports.js';

describe('private test ports', () => {
  it('should give every test its own ports, counting the controller port a broker takes next to its own', () => {
    const taken = Object.values(PRIVATE_PORT_BASES).flatMap((port) => [port, port + 1]);
    expect(new Set(taken).size).toBe(taken.length);
  });

  it('should keep clear of the shared broker and database a suite uses by default', () => {
    const taken = Object.values(PRIVATE_PORT_BASES).flatMap((port) => [port, port + 1]);
    for (const shared of [9092, 9093, 5432]) expect(taken).not.toContain(shared);
  });
});
