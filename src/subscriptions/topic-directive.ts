import { type ConstDirectiveNode, type ConstValueNode, type DocumentNode, type FieldDefinitionNode, Kind, print } from 'graphql';
import { expandTopicName, isKafkaTopicName, type TopicEnvironment, TopicNameError } from './topic-name.js';

/** A `@topic` declaration that breaks the contract's rules: start-up prints this one line and exits with status 2. */
export class TopicDeclarationError extends Error {
  /** `Subscription.topupCompleted`: the field whose declaration is broken. */
  readonly field: string;

  constructor(field: string, rule: string) {
    // One line whatever a declaration's strings hold: a log line or a terminal must not be split by an SDL value.
    super(`${field}: ${rule}`.replace(/\s*[\r\n]+\s*/g, ' '));
    this.name = 'TopicDeclarationError';
    this.field = field;
  }
}

/** `enum TopicFormat` of schema.graphql: how a declared topic's record values are read (record-decoding.ts). */
export const TOPIC_FORMATS = ['CLOUDEVENTS', 'JSON'] as const;
export type TopicFormat = (typeof TOPIC_FORMATS)[number];

/** What `@topic(...)` says once its name is expanded and checked. */
export interface TopicDirective {
  readonly topic: string;
  readonly format: TopicFormat;
  readonly key?: string;
  readonly owner?: string;
  readonly readScope: string;
}

const ARGUMENTS = ['name', 'format', 'key', 'owner', 'readScope'] as const;
type ArgumentName = (typeof ARGUMENTS)[number];
const isArgumentName = (name: string): name is ArgumentName => (ARGUMENTS as readonly string[]).includes(name);

export const topicDirectivesOf = (field: FieldDefinitionNode | undefined | null): readonly ConstDirectiveNode[] =>
  field?.directives?.filter((directive) => directive.name.value === 'topic') ?? [];

/**
 * Reads one `@topic` from its SDL node rather than through graphql's getDirectiveValues: a wrong value (a format
 * that is no TopicFormat, a number for a name) gets a message naming the field and the rule, not graphql's own.
 */
export function readTopicDirective(field: string, directive: ConstDirectiveNode, env: TopicEnvironment): TopicDirective {
  // Annotated so that TypeScript narrows after a call: `if (x === undefined) fail(...)`.
  const fail: (rule: string) => never = (rule) => {
    throw new TopicDeclarationError(field, rule);
  };
  const given = new Map<ArgumentName, ConstValueNode>();
  for (const argument of directive.arguments ?? []) {
    const name = argument.name.value;
    if (!isArgumentName(name)) fail(`@topic has no argument ${name} (it takes ${ARGUMENTS.join(', ')})`);
    else given.set(name, argument.value);
  }
  const text = (name: ArgumentName): string | undefined => {
    const value = given.get(name);
    if (value === undefined || value.kind === Kind.NULL) return undefined;
    if (value.kind !== Kind.STRING) return fail(`@topic ${name} must be a string`);
    return value.value;
  };

  const template = text('name');
  if (template === undefined) fail('@topic declares no name (the Kafka topic)');
  const readScope = text('readScope')?.trim();
  if (readScope === undefined || readScope === '') fail('@topic declares no readScope (the scope that may read every record)');
  let topic = '';
  try {
    topic = expandTopicName(template, env);
  } catch (error) {
    if (error instanceof TopicNameError) fail(error.message);
    throw error;
  }
  if (!isKafkaTopicName(topic))
    fail(`@topic name expands to ${JSON.stringify(topic)}, which is not a Kafka topic name (1-249 of [A-Za-z0-9._-])`);

  const formatNode = given.get('format');
  let format: TopicFormat = 'CLOUDEVENTS';
  if (formatNode !== undefined && formatNode.kind !== Kind.NULL) {
    const value = formatNode.kind === Kind.ENUM ? formatNode.value : undefined;
    const known = TOPIC_FORMATS.find((candidate) => candidate === value);
    if (formatNode.kind === Kind.STRING) {
      fail(
        `@topic format is the string ${JSON.stringify(formatNode.value)}: write a TopicFormat without quotes (${TOPIC_FORMATS.join(', ')})`,
      );
    }
    if (known === undefined) fail(`@topic format ${print(formatNode)} is not a TopicFormat (${TOPIC_FORMATS.join(', ')})`);
    format = known;
  }
  const key = text('key');
  const owner = text('owner');
  return { topic, format, ...(key !== undefined && { key }), ...(owner !== undefined && { owner }), readScope };
}

/**
 * The directive's own rules, checked on the parsed SDL before the schema is built: graphql's SDL validation would
 * otherwise refuse a missing readScope or an unknown argument first, in a message that names neither the field nor
 * the file. Placement and types are the catalog's, on the built schema.
 */
export function checkTopicDirectives(documents: readonly DocumentNode[], env: TopicEnvironment): void {
  for (const document of documents) {
    for (const definition of document.definitions) {
      if (
        definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
        definition.kind !== Kind.OBJECT_TYPE_EXTENSION &&
        definition.kind !== Kind.INTERFACE_TYPE_DEFINITION &&
        definition.kind !== Kind.INTERFACE_TYPE_EXTENSION
      ) {
        continue;
      }
      for (const field of definition.fields ?? []) {
        const directives = topicDirectivesOf(field);
        const coordinate = `${definition.name.value}.${field.name.value}`;
        if (directives.length > 1) throw new TopicDeclarationError(coordinate, '@topic is given more than once');
        if (directives[0] !== undefined) readTopicDirective(coordinate, directives[0], env);
      }
    }
  }
}
