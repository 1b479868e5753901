import { fileURLToPath } from 'node:url';
import { addResolversToSchema, makeExecutableSchema } from '@graphql-tools/schema';
import { type DocumentNode, GraphQLError, type GraphQLSchema } from 'graphql';
import { ConfigError } from '../config.js';
import { compileDeclaredTopics, type DeclaredTopic } from '../subscriptions/declared-topics.js';
import { buildTopicCatalog } from '../subscriptions/topic-catalog.js';
import { checkTopicDirectives } from '../subscriptions/topic-directive.js';
import type { TopicEnvironment } from '../subscriptions/topic-name.js';
import { resolvers } from './resolvers.js';
import { loadSchemaSources, parseSchemaSources } from './schema-sources.js';
import { topicResolvers } from './topic-resolvers.js';

/** schema.graphql at the project root; src/ and dist/ sit at the same depth. */
export const SCHEMA_PATH = fileURLToPath(new URL('../../schema.graphql', import.meta.url));

export interface GatewaySchemaOptions {
  /** SCHEMA_PATHS entries: extra SDL files or folders loaded after schema.graphql. */
  readonly schemaPaths?: readonly string[];
  /** What `${VAR}` in `@topic` names reads. @default process.env */
  readonly env?: TopicEnvironment;
}

export interface GatewayGraphQL {
  readonly schema: GraphQLSchema;
  /** The declared (`@topic`) Subscription fields, in the schema's order: one subscription catalog for every transport. */
  readonly topics: readonly DeclaredTopic[];
}

/**
 * The schema and its subscription catalog. A broken SDL file or declaration throws one line naming it
 * (ConfigError for SCHEMA_PATHS, TopicDeclarationError for a declaration): start-up stops there.
 */
export function buildGatewayGraphQL(options: GatewaySchemaOptions = {}): GatewayGraphQL {
  const env = options.env ?? process.env;
  const documents = parseSchemaSources(loadSchemaSources({ schemaPath: SCHEMA_PATH, schemaPaths: options.schemaPaths }));
  checkTopicDirectives(documents, env);
  const plain = buildPlainSchema(documents, (options.schemaPaths ?? []).length > 0);
  const topics = compileDeclaredTopics(buildTopicCatalog(plain, env));
  return { schema: addResolversToSchema({ schema: plain, resolvers: topicResolvers(topics) }), topics };
}

/** The types and the resolvers of resolvers.ts; an SDL that does not build together is one line naming where. */
function buildPlainSchema(documents: DocumentNode[], extraFiles: boolean): GraphQLSchema {
  try {
    return makeExecutableSchema({ typeDefs: documents, resolvers });
  } catch (error) {
    if (!(error instanceof GraphQLError) || !extraFiles) throw error;
    const at = error.locations?.[0];
    const file = error.source?.name;
    const where = file && at ? `${file}:${at.line}:${at.column}: ` : '';
    throw new ConfigError(
      'SCHEMA_PATHS',
      `names SDL that does not build with schema.graphql: ${where}${error.message.replaceAll('\n', ' ')}`,
    );
  }
}

export function buildGatewaySchema(options: GatewaySchemaOptions = {}): GraphQLSchema {
  return buildGatewayGraphQL(options).schema;
}
