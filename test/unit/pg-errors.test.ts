import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/adapters/postgres/pg-errors.js';

const pgError = (code: string) => Object.assign(Object.create(postgres.PostgresError.prototype) as Error, { code, message: code });
const socketError = (code: string) => Object.assign(new Error(code), { code });

describe('isDatabaseUnavailable', () => {
  it('should count lost and refused connections and a server going away as unavailable', () => {
    for (const code of ['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', 'ECONNREFUSED', 'ECONNRESET']) {
      expect(isDatabaseUnavailable(socketError(code)), code).toBe(true);
    }
    for (const code of ['57P01', '57P02', '57P03', '08006', '08001', '53300'])
      expect(isDatabaseUnavailable(pgError(code)), code).toBe(true);
  });

  it('should look through a wrapping error to its cause', () => {
    expect(isDatabaseUnavailable(new Error('query failed', { cause: socketError('ECONNRESET') }))).toBe(true);
  });

  it('should not count a refused statement, a bad login or a missing database', () => {
    for (const code of ['23505', '22003', '28P01', '3D000', '40001']) expect(isDatabaseUnavailable(pgError(code)), code).toBe(false);
    expect(isDatabaseUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isDatabaseUnavailable('ECONNRESET')).toBe(false);
  });
});
