import { describe, expect, it } from 'vitest';
import {
  ConfigTableError,
  END_MARKER,
  firstDifference,
  parseDocComment,
  readConfigKeys,
  renderTable,
  START_MARKER,
  withTable,
} from '../../scripts/config-table.js';

const sample = `
import { z } from 'zod';
const integer = (min: number, max: number) => z.string().transform(Number);
const tls = {
  /** Connect over TLS. @default false */
  SAMPLE_SSL: flag.default(false),
};
const environmentSchema = z
  .object({
    /** Listen port. @default 4000 */
    PORT: integer(0, 65535).default(4000),
    /**
     * How often offsets are committed again,
     * in milliseconds | never zero.
     */
    REFRESH_MS: integer(1000, 604_800_000).default(3_600_000),
    /** Brokers, comma-separated. */
    BROKERS: z.string().default(['127.0.0.1:9092', '127.0.0.1:9093']),
    /** PostgreSQL connection string. @default postgres://postgres@127.0.0.1:5432/db */
    DATABASE_URL: z.string().refine(Boolean).default('postgres://x@y/z'),
    ...tls,
    /** A secret; required outside development. */
    SECRET: z.string().min(32).optional(),
  })
  .superRefine(() => undefined);
`;

const document = (table: string) => `# Operations\n\n${START_MARKER}\n${table}\n${END_MARKER}\n\nMore prose.\n`;

describe('config table', () => {
  it('should read every key in order with its meaning and its default from @default or .default()', () => {
    expect(readConfigKeys(sample)).toEqual([
      { name: 'PORT', meaning: 'Listen port.', defaultValue: '4000' },
      { name: 'REFRESH_MS', meaning: 'How often offsets are committed again, in milliseconds | never zero.', defaultValue: '3600000' },
      { name: 'BROKERS', meaning: 'Brokers, comma-separated.', defaultValue: '127.0.0.1:9092,127.0.0.1:9093' },
      { name: 'DATABASE_URL', meaning: 'PostgreSQL connection string.', defaultValue: 'postgres://postgres@127.0.0.1:5432/db' },
      { name: 'SAMPLE_SSL', meaning: 'Connect over TLS.', defaultValue: 'false' },
      { name: 'SECRET', meaning: 'A secret; required outside development.', defaultValue: undefined },
    ]);
  });

  it('should render one row per key, escaping pipes and saying unset for a key without a default', () => {
    const rows = renderTable(readConfigKeys(sample)).split('\n');
    expect(rows).toHaveLength(3 + 6);
    expect(rows).toContain('| `REFRESH_MS` | How often offsets are committed again, in milliseconds \\| never zero. | `3600000` |');
    expect(rows).toContain('| `SECRET` | A secret; required outside development. | unset |');
  });

  it('should refuse a key without its own comment, naming it', () => {
    const shared = sample.replace('    /** Listen port. @default 4000 */\n', '');
    expect(() => readConfigKeys(shared)).toThrow(ConfigTableError);
    expect(() => readConfigKeys(shared)).toThrow(/^PORT has no TSDoc comment/);
  });

  it('should refuse a comment that only gives a default', () => {
    expect(() => readConfigKeys(sample.replace('Listen port. @default 4000', '@default 4000'))).toThrow(/^PORT's TSDoc comment/);
  });

  it('should keep a tag-like @ inside a value, and take the text after @default up to the next tag', () => {
    expect(parseDocComment('/** Where. @default a@b.c @see elsewhere */')).toEqual({ meaning: 'Where.', defaultTag: 'a@b.c' });
    expect(parseDocComment('/** user@host is fine */')).toEqual({ meaning: 'user@host is fine', defaultTag: undefined });
  });

  it('should find nothing to report when the document holds the generated table, and name the key whose row differs', () => {
    const table = renderTable(readConfigKeys(sample));
    const current = withTable(document('old'), table);
    expect(current).toContain('More prose.');
    expect(firstDifference(current, table)).toBeUndefined();

    const changed = renderTable(readConfigKeys(sample.replace('@default 4000 */', '@default 5000 */')));
    expect(firstDifference(current, changed)).toMatch(/^PORT differs between src\/config.ts and docs\/operations.md/);

    const added = renderTable(
      readConfigKeys(sample.replace('    ...tls,\n', '    ...tls,\n    /** New. */\n    NEW_KEY: z.string().optional(),\n')),
    );
    expect(firstDifference(current, added)).toMatch(/^NEW_KEY is in src\/config.ts but not in the table/);

    const removed = renderTable(readConfigKeys(sample.replace('    ...tls,\n', '')));
    expect(firstDifference(current, removed)).toMatch(/^SAMPLE_SSL is in docs\/operations.md but not in src\/config.ts/);
  });

  it('should say so when the document lacks the markers', () => {
    expect(() => firstDifference('# Operations\n', '| x |')).toThrow(/lacks the <!-- config-table:start -->/);
  });
});
