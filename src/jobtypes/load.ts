/** Loads every definition in a jobtypes folder: valid ones as JobType, invalid ones with located problems. */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { ImporterError } from '../errors.js';
import { normalizeJobType, type DefinitionProblem, type JobType } from './normalize.js';

export interface InvalidDefinition {
  readonly name: string;
  readonly file: string;
  readonly problems: readonly DefinitionProblem[];
}

export interface LoadedJobTypes {
  readonly dir: string;
  readonly valid: readonly JobType[];
  readonly invalid: readonly InvalidDefinition[];
}

const DEFINITION_FILE = /\.(ya?ml|json)$/i;

/** `jobtypes/orders.yaml: columns[2].type: unknown type "integr" (did you mean "integer"?)` */
export function formatProblem(file: string, problem: DefinitionProblem, cwd = process.cwd()): string {
  const shown = path.relative(cwd, file) || file;
  return problem.path ? `${shown}: ${problem.path}: ${problem.message}` : `${shown}: ${problem.message}`;
}

export async function loadDefinitionFile(file: string, env: NodeJS.ProcessEnv = process.env) {
  const fallbackName = path.basename(file).replace(DEFINITION_FILE, '');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false as const, name: fallbackName, problems: [{ path: '', message: `cannot read: ${(err as Error).message}` }] };
  }
  let raw: unknown;
  if (/\.json$/i.test(file)) {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      return { ok: false as const, name: fallbackName, problems: [{ path: '', message: `invalid JSON: ${(err as Error).message}` }] };
    }
  } else {
    const doc = YAML.parseDocument(text, { prettyErrors: true });
    if (doc.errors.length > 0) {
      return {
        ok: false as const,
        name: fallbackName,
        problems: doc.errors.map((e) => ({
          path: '',
          message: `invalid YAML at line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`,
        })),
      };
    }
    raw = doc.toJS();
  }
  return normalizeJobType(raw, file, env);
}

export async function loadJobTypes(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedJobTypes> {
  const absDir = path.resolve(dir);
  let entries: string[];
  try {
    entries = (await readdir(absDir)).filter((f) => DEFINITION_FILE.test(f)).sort();
  } catch (err) {
    throw new ImporterError('JOBTYPES_DIR_NOT_FOUND', `jobtypes folder ${absDir} cannot be read: ${(err as Error).message}. Pass --jobtypes DIR.`, {
      dir: absDir,
    }, { cause: err });
  }
  const valid: JobType[] = [];
  const invalid: InvalidDefinition[] = [];
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const file = path.join(absDir, entry);
    const result = await loadDefinitionFile(file, env);
    if (!result.ok) {
      invalid.push({ name: result.name, file, problems: result.problems });
      continue;
    }
    const other = seen.get(result.jobType.name);
    if (other) {
      invalid.push({
        name: result.jobType.name,
        file,
        problems: [{ path: 'name', message: `job type "${result.jobType.name}" is already defined in ${path.basename(other)}` }],
      });
      continue;
    }
    seen.set(result.jobType.name, file);
    valid.push(result.jobType);
  }
  return { dir: absDir, valid, invalid };
}
