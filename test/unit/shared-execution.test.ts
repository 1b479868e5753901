import { makeExecutableSchema } from '@graphql-tools/schema';
import { type DocumentNode, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { sharedSubscribe } from '../../src/operations/shared-execution.js';

interface Event {
  readonly record: { readonly name: string };
  readonly cursor: string;
}

describe('sharedSubscribe', () => {
  it('should execute a shared event once per distinct operation, and per subscription when a per-subscriber field is selected', async () => {
    let resolved = 0;
    const records = [{ name: 'a' }, { name: 'b' }];
    const schema = makeExecutableSchema({
      typeDefs:
        'type Query { x: Int } type Record { name: String! } type Event { record: Record! cursor: String! } type Subscription { events(tag: String): Event! }',
      resolvers: {
        Record: {
          name: (record: { name: string }) => {
            resolved++;
            return record.name;
          },
        },
        Subscription: {
          events: {
            // Each subscription gets its own event objects around the same records, as the engine's are.
            subscribe: async function* () {
              for (const [i, record] of records.entries()) yield { record, cursor: `c${i}-${Math.random()}` } satisfies Event;
            },
            resolve: (event: Event) => event,
          },
        },
      },
    });
    const subscribe = sharedSubscribe({
      eventIdentity: (payload: unknown) => (payload as Event).record,
      perSubscriberFields: new Set(['cursor']),
      callerKey: () => 'same',
    });
    // The gateway parses a query text once, so equal texts are one document.
    const documents = new Map<string, DocumentNode>();
    const collect = async (query: string, variableValues: Record<string, unknown> = {}) => {
      const document = documents.get(query) ?? parse(query);
      documents.set(query, document);
      const stream = await subscribe({ schema, document, variableValues });
      if (!(Symbol.asyncIterator in stream)) throw new Error('no stream');
      const results: unknown[] = [];
      for await (const result of stream) results.push(result);
      return results;
    };
    const plain = 'subscription { events { record { name } } }';
    const [first, second] = await Promise.all([collect(plain), collect(plain)]);
    expect(first).toEqual([{ data: { events: { record: { name: 'a' } } } }, { data: { events: { record: { name: 'b' } } } }]);
    expect(second).toEqual(first);
    expect(resolved).toBe(2);

    // Other variables: another operation, executed on its own.
    await collect('subscription($t: String) { events(tag: $t) { record { name } } }', { t: 'x' });
    expect(resolved).toBe(4);

    const withCursor = 'subscription { events { record { name } cursor } }';
    const [one, two] = await Promise.all([collect(withCursor), collect(withCursor)]);
    expect(resolved).toBe(8);
    expect(one).not.toEqual(two);
  });
});
