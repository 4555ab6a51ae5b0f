/**
 * The architecture check behind test/unit/architecture.test.ts: reads src/**\/*.ts with the
 * TypeScript compiler API and reports import cycles (between files and between folders), imports
 * that run up the layer order, files over MAX_FILE_LINES lines and functions over
 * MAX_FUNCTION_LINES lines without a `// long: <reason>` comment.
 *
 * Each violation has a stable `key` (no line counts, so that a function growing by a line is not a
 * new violation) and a `text` with the details.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The layers of src/, top first (docs/architecture.md, "Layers"). A module is a folder of src/ or
 * a file at its root, named without `.ts`. A module may import any module on a lower line; on its
 * own line, only along PEER_IMPORTS.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['cli'],
  ['dashboard'],
  ['importer', 'validate', 'scaffold', 'doctor'],
  ['supervisor'],
  ['pipeline'],
  ['observability'],
  ['db', 'jobtypes', 'source'],
  ['errors', 'util'],
];

/** Imports allowed between modules of one layer, as [from, to]. */
export const PEER_IMPORTS: readonly (readonly [string, string])[] = [
  ['db', 'jobtypes'], // a table is created from a job type's columns
  ['db', 'source'], // the ledger records source files
  ['jobtypes', 'source'], // the encodings a definition may name are the decoder's
];

export const MAX_FILE_LINES = 400;
export const MAX_FUNCTION_LINES = 80;

export interface Violation {
  /** Stable identity, e.g. `up: src/db/copy.ts -> src/pipeline/batcher.ts` or `length: src/cli/main.ts buildProgram`. */
  readonly key: string;
  /** The key with details, e.g. the line count. */
  readonly text: string;
}

/** `size: src/x.ts (614 lines)` and `size: src/x.ts` are the same entry: line counts are details. */
export function violationKey(entry: string): string {
  return entry.replace(/\s*\(\d+ lines?\)\s*$/, '').trim();
}

/** Every .ts file under `dir`, as paths relative to `root` with forward slashes. */
export function readSources(root: string, dir = 'src'): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.set(child, readFileSync(path.join(root, child), 'utf8'));
    }
  };
  walk(dir);
  return files;
}

/** The module of a file: `src/db/copy.ts` → `db`, `src/importer.ts` → `importer`. */
export function moduleOf(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? parts[1]! : parts[1]!.replace(/\.ts$/, '');
}

/** Relative module specifiers of a file: imports (type-only too), re-exports, import() calls and import types. */
function specifiers(sf: ts.SourceFile): string[] {
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push(node.moduleReference.expression.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      out.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out.filter((s) => s.startsWith('.'));
}

/** Resolves `../db/budget.js` from `src/pipeline/x.ts` to `src/db/budget.ts`, if that file is known. */
function resolve(from: string, spec: string, files: ReadonlyMap<string, string>): string | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  const stem = base.replace(/\.(js|ts|mjs|cjs)$/, '');
  for (const candidate of [`${stem}.ts`, `${base}.ts`, `${base}/index.ts`, base]) if (files.has(candidate)) return candidate;
  return undefined;
}

/** The file import graph: file → the files it imports. */
export function importGraph(files: ReadonlyMap<string, string>, sources?: ReadonlyMap<string, ts.SourceFile>): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [file, text] of files) {
    const sf = sources?.get(file) ?? ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const deps = new Set<string>();
    for (const spec of specifiers(sf)) {
      const target = resolve(file, spec, files);
      if (target && target !== file) deps.add(target);
    }
    graph.set(file, deps);
  }
  return graph;
}

/** Strongly connected components with more than one node (Tarjan). */
function cycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) strong(v);
  return out;
}

/** A shortest cycle through the first (smallest) member of a component, as `a -> b -> a`; other members follow in brackets. */
function describeCycle(scc: readonly string[], graph: ReadonlyMap<string, ReadonlySet<string>>): string {
  const members = new Set(scc);
  const start = scc[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  let last: string | undefined;
  while (queue.length > 0 && last === undefined) {
    const v = queue.shift()!;
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!members.has(w)) continue;
      if (w === start) {
        last = v;
        break;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  const cyclePath = [start];
  for (let v = last; v !== undefined && v !== start; v = prev.get(v)) cyclePath.splice(1, 0, v);
  const rest = scc.filter((m) => !cyclePath.includes(m));
  return `${cyclePath.join(' -> ')} -> ${start}${rest.length > 0 ? ` (with ${rest.join(', ')})` : ''}`;
}

function layerOf(module: string): number {
  return LAYERS.findIndex((l) => l.includes(module));
}

/** The functions of a file with a name stable across edits (no line numbers), their span and whether a `// long:` comment excuses them. */
export function functionsOf(sf: ts.SourceFile): Array<{ name: string; lines: number; excused: boolean }> {
  const lines = sf.text.split('\n');
  const out: Array<{ name: string; lines: number; excused: boolean }> = [];
  const seen = new Map<string, number>();
  const nameOf = (node: ts.Node): string => {
    if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)) && node.name) return node.name.getText(sf);
    if (ts.isConstructorDeclaration(node)) return 'constructor';
    const parent = node.parent;
    if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText(sf);
    if (ts.isCallExpression(parent)) {
      const callee = ts.isPropertyAccessExpression(parent.expression) ? parent.expression.name.getText(sf) : parent.expression.getText(sf).slice(0, 30);
      return `${callee}() callback`;
    }
    return '<anonymous>';
  };
  const visit = (node: ts.Node, scope: string) => {
    let inner = scope;
    if (ts.isClassDeclaration(node) && node.name) inner = scope ? `${scope}.${node.name.text}` : node.name.text;
    if (ts.isFunctionLike(node) && (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isArrowFunction(node) || ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node))) {
      if ('body' in node && node.body) {
        let name = scope ? `${scope}${ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node) ? '.' : ' > '}${nameOf(node)}` : nameOf(node);
        const n = (seen.get(name) ?? 0) + 1;
        seen.set(name, n);
        if (n > 1) name = `${name} #${n}`;
        const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
        const excused = [lines[first - 1], lines[first]].some((l) => l !== undefined && /\/\/\s*long:\s*\S/.test(l));
        out.push({ name, lines: end - first + 1, excused });
        inner = name;
      }
    }
    ts.forEachChild(node, (c) => visit(c, inner));
  };
  visit(sf, '');
  return out;
}

/** Every violation in `files` (paths relative to the repository, e.g. `src/db/copy.ts`). */
/** A string that starts like an SQL statement (what belongs in src/db/ only); our SQL keywords are upper case, prose is not. */
const SQL_START = /^\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\S+\s+SET\s|DELETE\s+FROM\s|(CREATE|ALTER|DROP)\s+(TABLE|SCHEMA|INDEX|ROLE|DATABASE|TRIGGER|FUNCTION)\s|BEGIN\b|COMMIT\b|ROLLBACK\b|COPY\s|LISTEN\s|NOTIFY\s|SET\s+(LOCAL\s+)?\w+\s*(=|TO)\s|WITH\s+\w+\s+AS\s*\()/;

/** The string and template literals of a file that read as SQL statements. */
export function sqlStatements(sf: ts.SourceFile): string[] {
  const out: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) {
      if (SQL_START.test(n.text)) out.push(n.text);
    } else if (ts.isTemplateExpression(n)) {
      if (SQL_START.test(n.head.text)) out.push(n.head.text);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

export function findViolations(files: ReadonlyMap<string, string>): Violation[] {
  const out: Violation[] = [];
  const keys = new Set<string>();
  const add = (key: string, detail = '') => {
    if (keys.has(key)) return;
    keys.add(key);
    out.push({ key, text: `${key}${detail}` });
  };
  const sources = new Map([...files].map(([f, text]) => [f, ts.createSourceFile(f, text, ts.ScriptTarget.Latest, true)] as const));
  const graph = importGraph(files, sources);

  for (const scc of cycles(graph)) add(`cycle: ${describeCycle(scc, graph)}`);

  const modules = new Map<string, Set<string>>();
  for (const [file, deps] of graph) {
    const from = moduleOf(file);
    if (!modules.has(from)) modules.set(from, new Set());
    for (const dep of deps) {
      const to = moduleOf(dep);
      if (to !== from) modules.get(from)!.add(to);
    }
  }
  for (const scc of cycles(modules)) add(`folder cycle: ${describeCycle(scc, modules)}`);

  for (const [file, deps] of graph) {
    const from = moduleOf(file);
    const fromLayer = layerOf(from);
    if (fromLayer < 0) {
      add(`unplaced: ${from}`, ' (add it to LAYERS in test/helpers/architecture.ts and to docs/architecture.md)');
      continue;
    }
    for (const dep of [...deps].sort()) {
      const to = moduleOf(dep);
      const toLayer = layerOf(to);
      if (to === from || toLayer < 0) continue;
      if (toLayer < fromLayer) add(`up: ${file} -> ${dep}`);
      else if (toLayer === fromLayer && !PEER_IMPORTS.some(([a, b]) => a === from && b === to)) add(`peer: ${file} -> ${dep}`);
    }
  }
  // A module placed twice would be checked against one of its places only.
  for (const m of new Set(LAYERS.flat())) if (LAYERS.filter((l) => l.includes(m)).length > 1) add(`layers: ${m} is placed twice`);

  for (const [file, text] of files) {
    if (!file.startsWith('src/db/')) for (const sql of sqlStatements(sources.get(file)!)) add(`sql: ${file}`, `: ${sql.slice(0, 60)}`);
    const n = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
    if (n > MAX_FILE_LINES) add(`size: ${file}`, ` (${n} lines)`);
    for (const f of functionsOf(sources.get(file)!)) if (f.lines > MAX_FUNCTION_LINES && !f.excused) add(`length: ${file} ${f.name}`, ` (${f.lines} lines)`);
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}
