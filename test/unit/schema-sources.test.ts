import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { listSchemaFiles, loadSchemaSources, parseSchemaPaths, parseSchemaSources } from '../../src/graphql/schema-sources.js';
import { cleanupList } from '../support/cleanup.js';

const cleanups = cleanupList();
afterAll(() => cleanups.run());

let dir: string;
const write = (path: string, text: string) => writeFileSync(join(dir, path), text);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'schema-sources-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  write('schema.graphql', 'type Query { a: Int }\n');
  mkdirSync(join(dir, 'topics'));
  mkdirSync(join(dir, 'topics', 'nested'));
  mkdirSync(join(dir, 'topics', 'folder.graphql'));
  mkdirSync(join(dir, 'empty'));
  write('topics/b.graphql', 'extend type Query { b: Int }\n');
  write('topics/A.graphql', 'extend type Query { upperA: Int }\n');
  write('topics/a.graphql', 'extend type Query { lowerA: Int }\n');
  write('topics/.#a.graphql', 'not sdl at all\n');
  write('topics/notes.md', '# not sdl\n');
  write('topics/nested/c.graphql', 'extend type Query { c: Int }\n');
  write('extra.graphql', 'extend type Query { extra: Int }\n');
  write('extra.txt', 'extend type Query { txt: Int }\n');
  write('broken.graphql', 'extend type Query {\n  x: \n');
});

/** The one-line message a ConfigError thrown by `run` carries, or a failure when none is thrown. */
function configErrorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseSchemaPaths', () => {
  it('should split on commas and drop blank entries', () => {
    expect(parseSchemaPaths(' a.graphql, ./topics ,,  ')).toEqual(['a.graphql', './topics']);
    expect(parseSchemaPaths(undefined)).toEqual([]);
    expect(parseSchemaPaths('   ')).toEqual([]);
  });
});

describe('listSchemaFiles', () => {
  it('should list a folder by code-point order, leaving out dot-files, other extensions and subfolders', () => {
    expect(listSchemaFiles(['topics'], dir)).toEqual([
      join('topics', 'A.graphql'),
      join('topics', 'a.graphql'),
      join('topics', 'b.graphql'),
    ]);
  });

  it('should keep the order of the entries and load a file named twice once, at its first place', () => {
    expect(listSchemaFiles(['extra.graphql', 'topics', 'topics/b.graphql', join(dir, 'extra.graphql')], dir)).toEqual([
      'extra.graphql',
      join('topics', 'A.graphql'),
      join('topics', 'a.graphql'),
      join('topics', 'b.graphql'),
    ]);
  });

  it('should name SCHEMA_PATHS and the path for a missing path, a file that is not .graphql and an empty folder', () => {
    expect(configErrorOf(() => listSchemaFiles(['topics', 'missing.graphql'], dir))).toBe(
      'invalid configuration: SCHEMA_PATHS names no file or folder: missing.graphql',
    );
    expect(configErrorOf(() => listSchemaFiles(['extra.txt'], dir))).toBe(
      'invalid configuration: SCHEMA_PATHS names a file that is not .graphql: extra.txt',
    );
    expect(configErrorOf(() => listSchemaFiles(['empty'], dir))).toBe(
      'invalid configuration: SCHEMA_PATHS names a folder with no .graphql file: empty',
    );
  });
});

describe('loadSchemaSources', () => {
  it('should return schema.graphql first, then the SCHEMA_PATHS files with their texts', () => {
    const sources = loadSchemaSources({
      schemaPath: join(dir, 'schema.graphql'),
      schemaPaths: 'topics/a.graphql, extra.graphql',
      cwd: dir,
    });
    expect(sources).toEqual([
      { file: join(dir, 'schema.graphql'), origin: 'schema.graphql', sdl: 'type Query { a: Int }\n' },
      { file: 'topics/a.graphql', origin: 'SCHEMA_PATHS', sdl: 'extend type Query { lowerA: Int }\n' },
      { file: 'extra.graphql', origin: 'SCHEMA_PATHS', sdl: 'extend type Query { extra: Int }\n' },
    ]);
  });

  it('should load schema.graphql alone when SCHEMA_PATHS is unset or blank, and not twice when it names it', () => {
    const schemaPath = join(dir, 'schema.graphql');
    for (const schemaPaths of [undefined, ' ', 'schema.graphql']) {
      expect(loadSchemaSources({ schemaPath, schemaPaths, cwd: dir }).map((source) => source.file)).toEqual([schemaPath]);
    }
  });

  it('should name SCHEMA_PATHS and the file when a file cannot be read', () => {
    // A file that lists as a regular file but fails on read, even for root (who ignores chmod 000): Linux's /proc memory file.
    symlinkSync('/proc/self/mem', join(dir, 'unreadable.graphql'));
    expect(
      configErrorOf(() => loadSchemaSources({ schemaPath: join(dir, 'schema.graphql'), schemaPaths: 'unreadable.graphql', cwd: dir })),
    ).toBe('invalid configuration: SCHEMA_PATHS names a file that cannot be read: unreadable.graphql (EIO)');
  });

  it('should say in one line when the gateway schema.graphql itself is missing', () => {
    expect(() => loadSchemaSources({ schemaPath: join(dir, 'nowhere.graphql'), cwd: dir })).toThrow(
      `cannot read the gateway's schema.graphql at ${join(dir, 'nowhere.graphql')}: ENOENT`,
    );
  });
});

describe('parseSchemaSources', () => {
  it('should parse every source and name file, line and column of a syntax error on one line', () => {
    const sources = loadSchemaSources({ schemaPath: join(dir, 'schema.graphql'), schemaPaths: 'extra.graphql', cwd: dir });
    expect(parseSchemaSources(sources).map((document) => document.definitions.length)).toEqual([1, 1]);

    const broken = loadSchemaSources({ schemaPath: join(dir, 'schema.graphql'), schemaPaths: 'broken.graphql', cwd: dir });
    const message = configErrorOf(() => parseSchemaSources(broken));
    expect(message).toBe(
      'invalid configuration: SCHEMA_PATHS names a file that does not parse: broken.graphql:3:1: Syntax Error: Expected Name, found <EOF>.',
    );
    expect(message).not.toContain('\n');
  });
});
