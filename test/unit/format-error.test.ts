import { GraphQLError } from 'graphql';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createErrorFormatter } from '../../src/graphql/format-error.js';

const capture = () => {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { lines, logger };
};

describe('the error formatter', () => {
  it("should log an internal error once, on its request's logger, under the correlation id the client gets", () => {
    const shared = capture();
    const request = capture();
    const format = createErrorFormatter(shared.logger);
    const error = new GraphQLError('boom', { originalError: new Error('the database said no') });
    format.logInternal([error], request.logger.child({ requestId: 'req-1' }));
    const formatted = format(error.toJSON(), error);
    expect(formatted.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(shared.lines).toEqual([]);
    expect(request.lines).toHaveLength(1);
    expect(request.lines[0]).toMatchObject({ requestId: 'req-1', correlationId: formatted.extensions?.correlationId });
  });

  it('should log an internal error formatted without logInternal on the logger given, else its own', () => {
    const shared = capture();
    const operation = capture();
    const format = createErrorFormatter(shared.logger);
    const first = new GraphQLError('boom');
    format(first.toJSON(), first, operation.logger.child({ connectionId: 'c-1', operationId: '1' }));
    expect(operation.lines[0]).toMatchObject({ connectionId: 'c-1', operationId: '1', msg: 'internal error while serving a request' });
    const second = new GraphQLError('boom');
    format(second.toJSON(), second);
    expect(shared.lines).toHaveLength(1);
  });

  it('should log nothing for an error with a contract code', () => {
    const shared = capture();
    const format = createErrorFormatter(shared.logger);
    const refused = new GraphQLError('no', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    format.logInternal([refused], shared.logger);
    expect(format(refused.toJSON(), refused).extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(shared.lines).toEqual([]);
  });
});
