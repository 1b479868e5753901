// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are @topic name templates, ${VAR} is their syntax
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { buildSchema, type GraphQLInputObjectType, type GraphQLScalarType, type GraphQLSchema, parse } from 'graphql';
import { afterAll, describe, expect, it } from 'vitest';
import { resolvers } from '../../src/graphql/resolvers.js';
import { buildGatewaySchema, SCHEMA_PATH } from '../../src/graphql/schema.js';
import { loadSchemaSources, parseSchemaSources } from '../../src/graphql/schema-sources.js';
import { buildTopicCatalog, TopicDeclarationError } from '../../src/subscriptions/topic-catalog.js';
import { checkTopicDirectives } from '../../src/subscriptions/topic-directive.js';
import { expandTopicName, isKafkaTopicName, TopicNameError } from '../../src/subscriptions/topic-name.js';
import { cleanupList } from '../support/cleanup.js';

const cleanups = cleanupList();
afterAll(() => cleanups.run());

/** What every small schema below shares: the contract's directive, and a top-up payload with a field of each kind. */
const PRELUDE = `
directive @topic(name: String!, format: TopicFormat = CLOUDEVENTS, key: String, owner: String, readScope: String!) on FIELD_DEFINITION
enum TopicFormat { CLOUDEVENTS JSON }
enum StartFrom { LATEST EARLIEST COMMITTED }
scalar DateTime
scalar MinorAmount
type Query { ok: Boolean }
enum TopupStatus { DONE FAILED }
type Origin { system: String! }
type Topup {
  topupId: ID!
  orderId: ID!
  accountId: ID!
  phone: String!
  amount: MinorAmount!
  status: TopupStatus!
  completedAt: DateTime!
  tags: [String!]
  origin: Origin
}
`;
const EVENT = 'type TopupCompleted { eventId: ID! topup: Topup! partition: Int! offset: String! publishedAt: DateTime! cursor: String! }';
const FILTER = 'input TopupFilter { accountId: ID status: [TopupStatus!] minAmount: MinorAmount maxCompletedAt: DateTime phone: String }';
const ARGUMENTS = '(filter: TopupFilter, subscriberId: String, start: StartFrom, afterCursor: String, since: DateTime)';
const DIRECTIVE = '@topic(name: "topups.completed", key: "accountId", owner: "accountId", readScope: "topups:read:all")';

interface Parts {
  readonly event?: string;
  readonly filter?: string;
  readonly args?: string;
  readonly directive?: string;
  readonly returns?: string;
  readonly extra?: string;
}

const sdlOf = ({
  event = EVENT,
  filter = FILTER,
  args = ARGUMENTS,
  directive = DIRECTIVE,
  returns = 'TopupCompleted!',
  extra = '',
}: Parts) => `${PRELUDE}\n${event}\n${filter}\n${extra}\ntype Subscription { topupCompleted${args}: ${returns} ${directive} }`;

/** assumeValidSDL: the catalog must state its own rules even where graphql's SDL validation did not run first. */
const schemaOf = (parts: Parts = {}): GraphQLSchema => buildSchema(sdlOf(parts), { assumeValidSDL: true });

/** The one line a broken declaration stops start-up with. */
function declarationErrorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TopicDeclarationError);
    const message = (error as Error).message;
    expect(message).not.toMatch(/[\r\n]/);
    return message;
  }
  throw new Error('expected a TopicDeclarationError');
}

const catalogError = (parts: Parts, env: Record<string, string> = {}) => declarationErrorOf(() => buildTopicCatalog(schemaOf(parts), env));

describe('buildTopicCatalog', () => {
  it("should read orderSettled from the gateway's schema.graphql as the first declaration", () => {
    const schema = buildGatewaySchema();
    const catalog = buildTopicCatalog(schema, {});
    expect(catalog).toEqual([
      {
        field: 'orderSettled',
        topic: 'orders.settled',
        format: 'CLOUDEVENTS',
        key: 'accountId',
        owner: 'accountId',
        readScope: 'orders:read:all',
        eventType: schema.getType('SettledOrderEvent'),
        payloadField: 'order',
        payloadType: schema.getType('Order'),
        envelopeFields: ['eventId', 'partition', 'offset', 'publishedAt', 'cursor'],
        filterArgument: {
          name: 'filter',
          type: schema.getType('OrderFilter'),
          fields: [
            { name: 'accountId', payloadField: 'accountId', kind: 'equals' },
            { name: 'currency', payloadField: 'currency', kind: 'equals' },
            { name: 'product', payloadField: 'product', kind: 'equals' },
            { name: 'minAmount', payloadField: 'amount', kind: 'min' },
          ],
        },
        arguments: ['subscriberId', 'start', 'afterCursor', 'since'],
      },
    ]);
    // The types are the schema's own objects, so payload coercion and filter matching get what the resolvers serve.
    expect(catalog[0]?.payloadType).toBe(schema.getType('Order'));
    expect(buildTopicCatalog(schema, { ORDERS_TOPIC: 'eu.orders.settled' })[0]?.topic).toBe('eu.orders.settled');
  });

  it('should read a declaration from a SCHEMA_PATHS file into the schema built as the gateway builds its own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'topic-catalog-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, 'topups.graphql'),
      `type Topup { topupId: ID! accountId: ID! amount: MinorAmount! }
      type TopupCompletedEvent { eventId: ID! topup: Topup! cursor: String! }
      input TopupFilter { accountId: ID minAmount: MinorAmount }
      extend type Subscription {
        topupCompleted(filter: TopupFilter, subscriberId: String): TopupCompletedEvent!
          @topic(name: "\${TOPUPS_TOPIC:-topups.completed}", key: "accountId", owner: "accountId", readScope: "topups:read:all")
      }`,
    );
    const documents = parseSchemaSources(loadSchemaSources({ schemaPath: SCHEMA_PATH, schemaPaths: dir }));
    checkTopicDirectives(documents, {});
    const schema = makeExecutableSchema({ typeDefs: documents, resolvers });
    const catalog = buildTopicCatalog(schema, {});
    expect(catalog.map(({ field, topic, payloadField, envelopeFields }) => ({ field, topic, payloadField, envelopeFields }))).toEqual([
      {
        field: 'orderSettled',
        topic: 'orders.settled',
        payloadField: 'order',
        envelopeFields: ['eventId', 'partition', 'offset', 'publishedAt', 'cursor'],
      },
      { field: 'topupCompleted', topic: 'topups.completed', payloadField: 'topup', envelopeFields: ['eventId', 'cursor'] },
    ]);
    expect(catalog[1]?.filterArgument?.fields).toEqual([
      { name: 'accountId', payloadField: 'accountId', kind: 'equals' },
      { name: 'minAmount', payloadField: 'amount', kind: 'min' },
    ]);
    // The declared types are the served schema's, with the gateway's own scalars.
    expect(catalog[1]?.payloadType).toBe(schema.getType('Topup'));
    expect(catalog[1]?.payloadType.getFields().amount?.type.toString()).toBe('MinorAmount!');
    expect((schema.getType('MinorAmount') as GraphQLScalarType).parseValue('1999')).toBe(1999n);
  });

  it('should pass the directive checks on the parsed schema.graphql', () => {
    expect(() => checkTopicDirectives([parse(readFileSync(SCHEMA_PATH, 'utf8'))], {})).not.toThrow();
  });

  it('should read a declaration in an extension, with each filter kind, a JSON format and no owner', () => {
    const schema = buildSchema(
      `${PRELUDE}\n${FILTER}\ntype TopupEvent { cursor: String! topup: Topup eventId: ID }\ntype Subscription { ok: Boolean }
      extend type Subscription { topupCompleted(since: DateTime, filter: TopupFilter, subscriberId: String): TopupEvent
        @topic(name: "\${TOPUPS_TOPIC:-topups}.v1", format: JSON, readScope: "topups:read:all") }`,
    );
    expect(buildTopicCatalog(schema, { TOPUPS_TOPIC: 'billing.topups' })).toEqual([
      {
        field: 'topupCompleted',
        topic: 'billing.topups.v1',
        format: 'JSON',
        readScope: 'topups:read:all',
        eventType: schema.getType('TopupEvent'),
        payloadField: 'topup',
        payloadType: schema.getType('Topup'),
        envelopeFields: ['eventId', 'cursor'],
        filterArgument: {
          name: 'filter',
          type: schema.getType('TopupFilter') as GraphQLInputObjectType,
          fields: [
            { name: 'accountId', payloadField: 'accountId', kind: 'equals' },
            { name: 'status', payloadField: 'status', kind: 'anyOf' },
            { name: 'minAmount', payloadField: 'amount', kind: 'min' },
            { name: 'maxCompletedAt', payloadField: 'completedAt', kind: 'max' },
            { name: 'phone', payloadField: 'phone', kind: 'equals' },
          ],
        },
        arguments: ['subscriberId', 'since'],
      },
    ]);
  });

  it('should take a field without arguments, and leave Subscription fields without @topic out', () => {
    const schema = schemaOf({ args: '', directive: '@topic(name: "t", readScope: "s")', extra: 'extend type Subscription { other: Int }' });
    const catalog = buildTopicCatalog(schema, {});
    expect(catalog.map((entry) => [entry.field, entry.arguments, entry.filterArgument])).toEqual([['topupCompleted', [], undefined]]);
    expect(catalog[0]?.eventType.name).toBe('TopupCompleted');
    expect(buildTopicCatalog(buildSchema('type Query { a: Int }'), {})).toEqual([]);
  });

  describe('the event type', () => {
    it.each([
      [
        'no payload field',
        { event: 'type TopupCompleted { eventId: ID! cursor: String! }' },
        'Subscription.topupCompleted: TopupCompleted has no payload field (one field of an object type, beside the envelope)',
      ],
      [
        'two payload fields',
        { event: 'type TopupCompleted { topup: Topup! origin: Origin }' },
        'Subscription.topupCompleted: TopupCompleted has more than one payload field (topup, origin); it must have one',
      ],
      [
        'a field that is neither envelope nor payload',
        { event: 'type TopupCompleted { topup: Topup! note: String }' },
        'Subscription.topupCompleted: TopupCompleted.note is String: an event type holds one object-typed payload field and the envelope fields eventId, partition, offset, publishedAt, cursor',
      ],
      [
        'a list of payloads',
        { event: 'type TopupCompleted { topups: [Topup!]! }' },
        'Subscription.topupCompleted: TopupCompleted.topups is [Topup!]!: an event type holds one object-typed payload field and the envelope fields eventId, partition, offset, publishedAt, cursor',
      ],
      [
        'an envelope field of the wrong type',
        { event: 'type TopupCompleted { topup: Topup! partition: String! }' },
        'Subscription.topupCompleted: envelope field TopupCompleted.partition is String!; it must be Int!',
      ],
      [
        'an offset as a number',
        { event: 'type TopupCompleted { topup: Topup! offset: Int }' },
        'Subscription.topupCompleted: envelope field TopupCompleted.offset is Int; it must be String!',
      ],
      [
        'a list of events',
        { returns: '[TopupCompleted!]!' },
        'Subscription.topupCompleted: returns [TopupCompleted!]!; a declared field returns an event object type',
      ],
      ['a scalar', { returns: 'String' }, 'Subscription.topupCompleted: returns String; a declared field returns an event object type'],
    ])('should refuse %s', (_, parts, message) => {
      expect(catalogError(parts)).toBe(message);
    });

    it('should take nullable envelope fields and a nullable payload', () => {
      const [entry] = buildTopicCatalog(schemaOf({ event: 'type TopupCompleted { partition: Int offset: String topup: Topup }' }), {});
      expect([entry?.payloadField, entry?.envelopeFields]).toEqual(['topup', ['partition', 'offset']]);
    });
  });

  describe('the filter', () => {
    it.each([
      [
        'a field that names no payload field',
        'input TopupFilter { accountId: ID country: String }',
        'Subscription.topupCompleted: filter field TopupFilter.country names no field of Topup (a bound is min<Field> or max<Field>)',
      ],
      [
        'a bound on no field',
        'input TopupFilter { accountId: ID minFee: MinorAmount }',
        'Subscription.topupCompleted: filter field TopupFilter.minFee names no field of Topup (a bound is min<Field> or max<Field>)',
      ],
      [
        'a bound on a String',
        'input TopupFilter { accountId: ID maxPhone: String }',
        'Subscription.topupCompleted: filter field TopupFilter.maxPhone bounds Topup.phone, of type String!: only Int, Float, MinorAmount and DateTime have bounds',
      ],
      [
        'a bound of another type than its field',
        'input TopupFilter { accountId: ID minAmount: Int }',
        'Subscription.topupCompleted: filter field TopupFilter.minAmount is Int; it must be MinorAmount, as Topup.amount is',
      ],
      [
        'a bound given as a list',
        'input TopupFilter { accountId: ID minAmount: [MinorAmount!] }',
        'Subscription.topupCompleted: filter field TopupFilter.minAmount is [MinorAmount!]; it must be MinorAmount, as Topup.amount is',
      ],
      [
        'a field named like a bound without one (min, then no capital)',
        'input TopupFilter { accountId: ID minimum: MinorAmount }',
        'Subscription.topupCompleted: filter field TopupFilter.minimum names no field of Topup (a bound is min<Field> or max<Field>)',
      ],
      [
        'a bound on a list field',
        'input TopupFilter { accountId: ID minTags: String }',
        'Subscription.topupCompleted: filter field TopupFilter.minTags bounds Topup.tags, of type [String!]: only Int, Float, MinorAmount and DateTime have bounds',
      ],
      [
        'an equality of another type than its field',
        'input TopupFilter { accountId: Int }',
        'Subscription.topupCompleted: filter field TopupFilter.accountId is Int but Topup.accountId is ID!',
      ],
      [
        'a String equality on a MinorAmount field',
        'input TopupFilter { accountId: ID amount: String }',
        'Subscription.topupCompleted: filter field TopupFilter.amount is String but Topup.amount is MinorAmount!',
      ],
      [
        'a String equality on an enum field',
        'input TopupFilter { accountId: ID status: String }',
        'Subscription.topupCompleted: filter field TopupFilter.status is String but Topup.status is TopupStatus!',
      ],
      [
        'a list of lists',
        'input TopupFilter { accountId: [[ID!]] }',
        'Subscription.topupCompleted: filter field TopupFilter.accountId is [[ID!]]; a filter field is a scalar, an enum or a list of one',
      ],
      [
        'an equality on an object field',
        'input TopupFilter { accountId: ID origin: String }',
        'Subscription.topupCompleted: filter field TopupFilter.origin names Topup.origin, of type Origin: only scalar and enum fields filter',
      ],
      [
        'an equality on a list field',
        'input TopupFilter { accountId: ID tags: String }',
        'Subscription.topupCompleted: filter field TopupFilter.tags names Topup.tags, of type [String!]: only scalar and enum fields filter',
      ],
      [
        'a filter field of an input type',
        'input Nested { a: Int } input TopupFilter { accountId: ID nested: Nested }',
        'Subscription.topupCompleted: filter field TopupFilter.nested is Nested; a filter field is a scalar, an enum or a list of one',
      ],
    ])('should refuse %s', (_, filter, message) => {
      expect(catalogError({ filter })).toBe(message);
    });

    it('should take an ID filter on a String field and a String filter on an ID one', () => {
      const [entry] = buildTopicCatalog(schemaOf({ filter: 'input TopupFilter { accountId: String phone: ID }' }), {});
      expect(entry?.filterArgument?.fields.map((rule) => rule.kind)).toEqual(['equals', 'equals']);
    });
  });

  describe('key and owner', () => {
    it.each([
      [
        'a key that names no payload field',
        '@topic(name: "t", key: "orderRef", readScope: "s")',
        'Subscription.topupCompleted: @topic key "orderRef" names no field of Topup',
      ],
      [
        'an owner that names no payload field',
        '@topic(name: "t", owner: "account", readScope: "s")',
        'Subscription.topupCompleted: @topic owner "account" names no field of Topup',
      ],
      [
        'a key on an object field',
        '@topic(name: "t", key: "origin", readScope: "s")',
        'Subscription.topupCompleted: @topic key "origin" names Topup.origin, of type Origin; it must name a scalar field',
      ],
      [
        'an owner on a list field',
        '@topic(name: "t", owner: "tags", readScope: "s")',
        'Subscription.topupCompleted: @topic owner "tags" names Topup.tags, of type [String!]; it must name a scalar field',
      ],
      [
        'an owner the filter cannot name',
        '@topic(name: "t", owner: "orderId", readScope: "s")',
        'Subscription.topupCompleted: @topic owner "orderId" needs filter field orderId: callers without the readScope filter on it',
      ],
    ])('should refuse %s', (_, directive, message) => {
      expect(catalogError({ directive })).toBe(message);
    });

    it('should refuse an owner on a field without a filter argument', () => {
      expect(catalogError({ args: '(subscriberId: String)' })).toBe(
        'Subscription.topupCompleted: @topic owner "accountId" needs filter field accountId: callers without the readScope filter on it',
      );
    });
  });

  describe('the arguments', () => {
    it.each([
      ['(subscriberId: Int)', 'argument subscriberId is Int; it must be String, as on orderSettled'],
      ['(filter: TopupFilter, subscriberId: String!)', 'argument subscriberId is String!; it must be String, as on orderSettled'],
      ['(filter: TopupFilter, start: String)', 'argument start is String; it must be StartFrom, as on orderSettled'],
      ['(filter: TopupFilter, afterCursor: ID)', 'argument afterCursor is ID; it must be String, as on orderSettled'],
      ['(filter: TopupFilter, since: String)', 'argument since is String; it must be DateTime, as on orderSettled'],
      ['(filter: TopupFilter!)', 'argument filter is TopupFilter!; it must be an input object type (nullable)'],
      ['(filter: String)', 'argument filter is String; it must be an input object type (nullable)'],
      ['(filter: TopupFilter, limit: Int)', 'argument limit is not one of filter, subscriberId, start, afterCursor, since'],
    ])('should refuse %s', (args, rule) => {
      expect(catalogError({ args })).toBe(`Subscription.topupCompleted: ${rule}`);
    });
  });

  describe('the directive', () => {
    it.each([
      ['@topic(name: "t", format: AVRO, readScope: "s")', '@topic format AVRO is not a TopicFormat (CLOUDEVENTS, JSON)'],
      [
        '@topic(name: "t", format: "JSON", readScope: "s")',
        '@topic format is the string "JSON": write a TopicFormat without quotes (CLOUDEVENTS, JSON)',
      ],
      ['@topic(name: "t")', '@topic declares no readScope (the scope that may read every record)'],
      ['@topic(name: "t", readScope: "  ")', '@topic declares no readScope (the scope that may read every record)'],
      ['@topic(readScope: "s")', '@topic declares no name (the Kafka topic)'],
      ['@topic(name: 42, readScope: "s")', '@topic name must be a string'],
      ['@topic(name: "t", readScope: "s", group: "g")', '@topic has no argument group (it takes name, format, key, owner, readScope)'],
      [
        '@topic(name: "orders.${REGION}", readScope: "s")',
        '@topic name "orders.${REGION}" reads ${REGION}, which is not set and has no default',
      ],
      [
        '@topic(name: "orders settled", readScope: "s")',
        '@topic name expands to "orders settled", which is not a Kafka topic name (1-249 of [A-Za-z0-9._-])',
      ],
      [
        '@topic(name: "${TOPIC:-}", readScope: "s")',
        '@topic name expands to "", which is not a Kafka topic name (1-249 of [A-Za-z0-9._-])',
      ],
    ])('should refuse %s in the catalog and before the schema is built', (directive, rule) => {
      const parts = { args: '', directive };
      expect(catalogError(parts)).toBe(`Subscription.topupCompleted: ${rule}`);
      expect(declarationErrorOf(() => checkTopicDirectives([parse(sdlOf(parts))], {}))).toBe(`Subscription.topupCompleted: ${rule}`);
    });

    it('should refuse a topic name that an environment variable makes invalid', () => {
      const parts = { args: '', directive: '@topic(name: "${TOPUPS_TOPIC:-topups}", readScope: "s")' };
      expect(catalogError(parts, { TOPUPS_TOPIC: 'top ups' })).toBe(
        'Subscription.topupCompleted: @topic name expands to "top ups", which is not a Kafka topic name (1-249 of [A-Za-z0-9._-])',
      );
    });

    it('should refuse @topic outside the Subscription type', () => {
      const sdl = `${PRELUDE}\n${EVENT}\ntype Subscription { a: Int }\nextend type Query { topups: TopupCompleted @topic(name: "t", readScope: "s") }`;
      expect(declarationErrorOf(() => buildTopicCatalog(buildSchema(sdl), {}))).toBe(
        'Query.topups: @topic is allowed only on fields of the Subscription type',
      );
    });

    it('should refuse @topic given twice, before the build that would say it without the field', () => {
      const parts = { args: '', directive: '@topic(name: "a", readScope: "s") @topic(name: "b", readScope: "s")' };
      expect(catalogError(parts)).toBe('Subscription.topupCompleted: @topic is given more than once');
      expect(declarationErrorOf(() => checkTopicDirectives([parse(sdlOf(parts))], {}))).toBe(
        'Subscription.topupCompleted: @topic is given more than once',
      );
    });

    it('should keep the message on one line when a declaration string spans lines', () => {
      const message = catalogError({ directive: '@topic(name: "t", key: """order\nRef""", readScope: "s")' });
      expect(message).toBe('Subscription.topupCompleted: @topic key "order\\nRef" names no field of Topup');
    });
  });
});

describe('expandTopicName', () => {
  it('should leave a name without references as it is', () => {
    expect(expandTopicName('orders.settled', {})).toBe('orders.settled');
    expect(expandTopicName('', {})).toBe('');
  });

  it('should read ${VAR}, and ${VAR:-default} with the default only when VAR is unset or empty', () => {
    expect(expandTopicName('${ORDERS_TOPIC}', { ORDERS_TOPIC: 'eu.orders' })).toBe('eu.orders');
    expect(expandTopicName('${ORDERS_TOPIC:-orders.settled}', {})).toBe('orders.settled');
    expect(expandTopicName('${ORDERS_TOPIC:-orders.settled}', { ORDERS_TOPIC: '' })).toBe('orders.settled');
    expect(expandTopicName('${ORDERS_TOPIC:-orders.settled}', { ORDERS_TOPIC: 'eu.orders' })).toBe('eu.orders');
    expect(expandTopicName('${EMPTY_OK:-}', {})).toBe('');
  });

  it('should expand several references between literal parts', () => {
    const env = { STAGE: 'prod', REGION: 'eu-1' };
    expect(expandTopicName('${STAGE:-dev}.topups.${REGION}.v${VERSION:-2}', env)).toBe('prod.topups.eu-1.v2');
    expect(expandTopicName('a$b.${STAGE}', env)).toBe('a$b.prod');
  });

  it.each([
    ['${REGION}', '@topic name "${REGION}" reads ${REGION}, which is not set and has no default'],
    ['${1REGION}', '@topic name "${1REGION}" holds "${1REGION}": write ${VAR} or ${VAR:-default}'],
    ['${REGION-eu}', '@topic name "${REGION-eu}" holds "${REGION-eu}": write ${VAR} or ${VAR:-default}'],
    ['${}', '@topic name "${}" holds "${}": write ${VAR} or ${VAR:-default}'],
    ['orders.${REGION', '@topic name "orders.${REGION" has a "${" that is never closed'],
  ])('should refuse %s', (template, message) => {
    expect(() => expandTopicName(template, {})).toThrow(new TopicNameError(message));
  });

  it('should refuse ${VAR} when VAR is empty rather than give an empty part', () => {
    expect(() => expandTopicName('orders.${REGION}', { REGION: '' })).toThrow(TopicNameError);
  });
});

describe('isKafkaTopicName', () => {
  it("should follow Kafka's own rule", () => {
    expect(['orders.settled', 'a', 'A-b_c.9', 'x'.repeat(249)].map(isKafkaTopicName)).toEqual([true, true, true, true]);
    expect(['', '.', '..', 'x'.repeat(250), 'a b', 'a/b', 'ä', '${X}'].map(isKafkaTopicName)).toEqual(Array(8).fill(false));
  });
});
