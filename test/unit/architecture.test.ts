/**
 * The architecture check (docs/architecture.md, "Layers"): no import cycles between files or
 * folders, imports only down the layer order, files up to 400 lines, functions up to 80 lines
 * unless a `// long: <reason>` comment says why, and no SQL statement outside src/db/. Violations main still has are listed in
 * architecture.known.ts, and that list can only shrink.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findViolations, LAYERS, readSources, violationKey } from '../helpers/architecture.js';
import { KNOWN_VIOLATIONS } from './architecture.known.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

describe('architecture of src/', () => {
  const found = findViolations(readSources(ROOT));
  const known = new Set(KNOWN_VIOLATIONS.map(violationKey));

  it('has no violation beyond the known ones', () => {
    const fresh = found.filter((v) => !known.has(v.key)).map((v) => v.text);
    expect(fresh, 'fix these (or, for a long function with a reason, add a `// long: <reason>` comment)').toEqual([]);
  });

  it('lists no known violation that is gone (remove it from test/unit/architecture.known.ts)', () => {
    const keys = new Set(found.map((v) => v.key));
    expect(KNOWN_VIOLATIONS.filter((k) => !keys.has(violationKey(k)))).toEqual([]);
    expect(new Set(KNOWN_VIOLATIONS.map(violationKey)).size, 'an entry is listed twice').toBe(KNOWN_VIOLATIONS.length);
  });

  it('documents the same layers as it checks', () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
    const section = doc.split(/^## /m).find((s) => s.startsWith('Layers'));
    expect(section, 'docs/architecture.md has a "Layers" section').toBeDefined();
    const line = LAYERS.map((l) => (l.length > 1 ? `{${l.join(', ')}}` : l[0])).join(' → ');
    expect(section).toContain(line);
  });
});

/** The checker itself, on small made-up trees: each kind of violation is found, and only those. */
describe('architecture check', () => {
  const tree = (files: Record<string, string>) => findViolations(new Map(Object.entries(files))).map((v) => v.text);
  const body = (n: number) => Array.from({ length: n - 2 }, (_, i) => `  const v${i} = ${i};`).join('\n');

  it('accepts imports down the layers and along the allowed peer imports', () => {
    expect(
      tree({
        'src/cli/main.ts': "import { run } from '../importer.js';\nimport type { Pool } from '../db/budget.js';",
        'src/importer.ts': "export * from './supervisor/supervisor.js';",
        'src/supervisor/supervisor.ts': "import { x } from '../pipeline/topology.js';",
        'src/pipeline/topology.ts': "import { y } from '../db/copy.js';\nexport const x = 1;",
        'src/db/copy.ts': "import type { JobType } from '../jobtypes/normalize.js';\nimport { z } from '../errors.js';\nexport const y = 1;",
        'src/db/budget.ts': 'export type Pool = number;',
        'src/jobtypes/normalize.ts': 'export type JobType = string;',
        'src/errors.ts': 'export const z = 1;',
      }),
    ).toEqual([]);
  });

  it('finds SQL outside src/db/, in strings and templates, and not prose that mentions a keyword', () => {
    expect(
      tree({
        'src/db/runs.ts': "export const q = 'SELECT 1';",
        'src/cli/history.ts': "export const q = `SELECT id FROM importer.runs WHERE id = ${1}`;",
        'src/cli/help.ts': "export const t = 'select the job types to run, then begin';",
        'src/dashboard/api.ts': "export const u = 'UPDATE importer.files SET status = 1';",
      }),
    ).toEqual(['sql: src/cli/history.ts: SELECT id FROM importer.runs WHERE id = ', 'sql: src/dashboard/api.ts: UPDATE importer.files SET status = 1']);
  });

  it('finds an import up the layers, counting `import type`, `export from` and import()', () => {
    expect(
      tree({
        'src/db/copy.ts': "import type { Batch } from '../pipeline/batcher.js';",
        'src/source/open.ts': "export { thing } from '../supervisor/faults.js';",
        'src/util/x.ts': "const m = await import('../cli/main.js');\ntype T = import('../importer.js').Report;",
        'src/pipeline/batcher.ts': '',
        'src/supervisor/faults.ts': '',
        'src/cli/main.ts': '',
        'src/importer.ts': '',
      }),
    ).toEqual([
      'up: src/db/copy.ts -> src/pipeline/batcher.ts',
      'up: src/source/open.ts -> src/supervisor/faults.ts',
      'up: src/util/x.ts -> src/cli/main.ts',
      'up: src/util/x.ts -> src/importer.ts',
    ]);
  });

  it('finds an import between peers that may not import each other', () => {
    expect(tree({ 'src/source/open.ts': "import type { Csv } from '../jobtypes/schema.js';", 'src/jobtypes/schema.ts': '' })).toEqual([
      'peer: src/source/open.ts -> src/jobtypes/schema.ts',
    ]);
  });

  it('finds cycles between files and between folders, type-only edges included', () => {
    expect(
      tree({
        'src/pipeline/a.ts': "import type { B } from './b.js';",
        'src/pipeline/b.ts': "import { c } from './c.js';",
        'src/pipeline/c.ts': "export { a } from './a.js';",
        'src/db/x.ts': "import { y } from '../source/y.js';",
        'src/source/y.ts': "import { x } from '../db/x.js';",
      }),
    ).toEqual([
      'cycle: src/db/x.ts -> src/source/y.ts -> src/db/x.ts',
      'cycle: src/pipeline/a.ts -> src/pipeline/b.ts -> src/pipeline/c.ts -> src/pipeline/a.ts',
      'folder cycle: db -> source -> db',
      'peer: src/source/y.ts -> src/db/x.ts',
    ]);
  });

  it('finds a file over 400 lines and a function over 80 lines, unless `// long:` gives a reason', () => {
    const fn = (name: string, n: number, comment = '') => `${comment}export function ${name}() {\n${body(n)}\n}\n`;
    const found = tree({
      'src/db/big.ts': Array.from({ length: 401 }, (_, i) => `// ${i}`).join('\n') + '\n',
      'src/db/fns.ts': [fn('short', 80), fn('long', 81), fn('excused', 120, '// long: one switch over every column type reads best in one place\n')].join('\n'),
      'src/db/more.ts': [
        `export class K {\n  method() {\n${body(90)}\n  }\n}\n`,
        `export const arrow = () => {\n${body(85)}\n};\n`,
        `[1].map((x) => {\n${body(85)}\n});\n`,
        `export function noReason() { // long:\n${body(85)}\n}\n`,
      ].join('\n'),
    });
    expect(found).toEqual([
      'length: src/db/fns.ts long (81 lines)',
      'length: src/db/more.ts arrow (85 lines)',
      'length: src/db/more.ts K.method (90 lines)',
      'length: src/db/more.ts map() callback (85 lines)',
      'length: src/db/more.ts noReason (85 lines)',
      'size: src/db/big.ts (401 lines)',
    ]);
  });

  it('matches entries by file and function name, not by line count', () => {
    expect(violationKey('size: src/cli/main.ts (614 lines)')).toBe('size: src/cli/main.ts');
    expect(violationKey('length: src/cli/main.ts buildProgram (1 line)')).toBe('length: src/cli/main.ts buildProgram');
    expect(violationKey('folder cycle: a -> b -> a (with c)')).toBe('folder cycle: a -> b -> a (with c)');
  });

  it('asks for a new folder to be placed in the layers', () => {
    expect(tree({ 'src/plugins/x.ts': "import { z } from '../errors.js';", 'src/errors.ts': '' })).toEqual([
      'unplaced: plugins (add it to LAYERS in test/helpers/architecture.ts and to docs/architecture.md)',
    ]);
  });
});
