import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type DocumentNode, GraphQLError, parse, Source } from 'graphql';
import { ConfigError } from '../config.js';

/** One SDL text the schema is built from, with the file it came from (as an operator would recognise it). */
export interface SchemaSource {
  readonly file: string;
  /** `schema.graphql` is the gateway's own; every other file came through SCHEMA_PATHS. */
  readonly origin: 'schema.graphql' | 'SCHEMA_PATHS';
  readonly sdl: string;
}

/** `a.graphql, ./topics` -> ['a.graphql', './topics']: blanks and empty entries are dropped. */
export function parseSchemaPaths(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

const isSdlFile = (name: string) => name.endsWith('.graphql') && !name.startsWith('.');

/**
 * The SDL files SCHEMA_PATHS names, in the order they load: entries in the order given, each folder's `*.graphql`
 * sorted by name (not recursive; dot-files such as editor backups are left out). A file named twice loads once, at
 * its first place. Paths are resolved against `cwd`; the names returned keep the operator's spelling.
 */
export function listSchemaFiles(entries: readonly string[], cwd: string = process.cwd()): string[] {
  const seen = new Set<string>();
  const files: string[] = [];
  const add = (shown: string) => {
    const absolute = resolve(cwd, shown);
    if (seen.has(absolute)) return;
    seen.add(absolute);
    files.push(shown);
  };
  for (const entry of entries) {
    const kind = kindOf(resolve(cwd, entry));
    if (kind === 'missing') throw new ConfigError('SCHEMA_PATHS', `names no file or folder: ${entry}`);
    if (kind === 'file') {
      if (!entry.endsWith('.graphql')) throw new ConfigError('SCHEMA_PATHS', `names a file that is not .graphql: ${entry}`);
      add(entry);
      continue;
    }
    // Code-point order, not the locale's: the load order must not change with the machine's language.
    const names = readdirSync(resolve(cwd, entry))
      .filter((name) => isSdlFile(name) && kindOf(resolve(cwd, entry, name)) === 'file')
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    // An empty folder is most often a volume that was not mounted: its topics would silently be missing.
    if (names.length === 0) throw new ConfigError('SCHEMA_PATHS', `names a folder with no .graphql file: ${entry}`);
    for (const name of names) add(join(entry, name));
  }
  return files;
}

function kindOf(path: string): 'file' | 'folder' | 'missing' {
  try {
    const stats = statSync(path);
    return stats.isDirectory() ? 'folder' : stats.isFile() ? 'file' : 'missing';
  } catch {
    return 'missing';
  }
}

const reasonOf = (error: unknown) =>
  error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : String(error);

export interface SchemaSourceOptions {
  /** The gateway's own schema.graphql (src/graphql/schema.ts SCHEMA_PATH). */
  readonly schemaPath: string;
  /** The raw SCHEMA_PATHS value; unset or blank: schema.graphql alone. */
  readonly schemaPaths?: string | readonly string[] | undefined;
  /** Where relative SCHEMA_PATHS entries start. @default process.cwd() */
  readonly cwd?: string;
}

/** schema.graphql, then every SCHEMA_PATHS file in load order; any path that cannot be read is a one-line error. */
export function loadSchemaSources({ schemaPath, schemaPaths, cwd = process.cwd() }: SchemaSourceOptions): SchemaSource[] {
  let own: string;
  try {
    own = readFileSync(schemaPath, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the gateway's schema.graphql at ${schemaPath}: ${reasonOf(error)}`);
  }
  const entries = typeof schemaPaths === 'string' || schemaPaths === undefined ? parseSchemaPaths(schemaPaths) : schemaPaths;
  const ownPath = resolve(schemaPath);
  const extra = listSchemaFiles(entries, cwd).filter((file) => resolve(cwd, file) !== ownPath);
  return [
    { file: schemaPath, origin: 'schema.graphql', sdl: own },
    ...extra.map((file): SchemaSource => {
      try {
        return { file, origin: 'SCHEMA_PATHS', sdl: readFileSync(resolve(cwd, file), 'utf8') };
      } catch (error) {
        throw new ConfigError('SCHEMA_PATHS', `names a file that cannot be read: ${file} (${reasonOf(error)})`);
      }
    }),
  ];
}

/**
 * Parses each source on its own so that a syntax error names its file, line and column on one line (graphql's own
 * message spans several lines with a code frame).
 */
export function parseSchemaSources(sources: readonly SchemaSource[]): DocumentNode[] {
  return sources.map((source) => {
    try {
      return parse(new Source(source.sdl, source.file));
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      const at = error.locations?.[0];
      const where = at ? `${source.file}:${at.line}:${at.column}` : source.file;
      const line = `${where}: ${error.message.replaceAll('\n', ' ')}`;
      if (source.origin === 'SCHEMA_PATHS') throw new ConfigError('SCHEMA_PATHS', `names a file that does not parse: ${line}`);
      throw new Error(`the gateway's schema.graphql does not parse: ${line}`);
    }
  });
}
