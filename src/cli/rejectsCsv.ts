/** `importer rejects --csv`: the quarantine as a CSV to fix and drop back into the source folder. */
import type { JobType } from '../jobtypes/normalize.js';
import { openSource } from '../source/open.js';
import { newRecordParser } from '../pipeline/recordParser.js';

/** The raw header line of a source file, or undefined when it cannot be read. */
async function headerLine(file: string, jt: JobType): Promise<string | undefined> {
  try {
    const { stream } = openSource(file, { gzip: /\.gz$/i.test(file), encoding: jt.csv.encoding });
    const parser = newRecordParser(jt);
    let header: string | undefined;
    for await (const chunk of stream) {
      parser.write(chunk as Buffer, (_f, _l, _o, raw) => (header ??= raw.text()));
      if (header !== undefined) break;
    }
    stream.destroy();
    return header;
  } catch {
    return undefined;
  }
}

/**
 * The first line of a CSV to fix and drop back into the source folder: the files' header line (the
 * definition's columns if the files are gone or disagree); empty without a header. Every rejected
 * record follows it exactly as it stood (streamed by the caller).
 */
export async function csvRejectsHeader(jt: JobType, files: readonly string[]): Promise<string> {
  if (!jt.csv.header) return '';
  const headers = new Set(await Promise.all(files.map((file) => headerLine(file, jt))));
  const only = headers.size === 1 ? [...headers][0] : undefined;
  const q = jt.csv.quote;
  const field = (s: string) => (s.includes(jt.csv.delimiter) || s.includes(q) || /[\r\n]/.test(s) ? q + s.split(q).join(q + q) + q : s);
  return (only ?? jt.columns.map((c) => field(c.source)).join(jt.csv.delimiter)) + '\n';
}
