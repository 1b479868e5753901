/** The examples' SDL, which the gateways of `npm run demo` and `npm run dev` load beside schema.graphql. */
import { fileURLToPath } from 'node:url';

/** examples/topups.graphql: the top-up system's topic as the Subscription field topupCompleted. */
export const EXAMPLES_SCHEMA = fileURLToPath(new URL('../../examples/topups.graphql', import.meta.url));

/** SCHEMA_PATHS for such a gateway: the examples' SDL, unless the environment sets SCHEMA_PATHS itself (even blank). */
export const examplesSchemaPaths = (env: NodeJS.ProcessEnv): string => env.SCHEMA_PATHS ?? EXAMPLES_SCHEMA;
