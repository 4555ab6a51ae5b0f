/** `importer doctor` as text: what was found, then each problem (cli/format.ts holds the other commands'). */
import type { DoctorReport } from '../doctor.js';

export function formatDoctor(r: DoctorReport): string {
  const d = r.database;
  let out = `database   ${d.url ?? '-'}\n           chosen by ${d.chosen_by === 'embedded' ? 'default (no --database-url, DATABASE_URL or PG* variable): the embedded server' : d.chosen_by}\n`;
  if (d.reachable) out += `           PostgreSQL ${d.server_version}, user ${d.user}, database ${d.name}\n`;
  else out += `           NOT REACHABLE: ${d.error}\n`;
  if (r.ledger) out += `ledger     ${r.ledger.note}\n`;
  for (const j of r.jobtypes) {
    out += `\njob type   ${j.name}${j.valid ? (j.enabled ? '' : ' (disabled)') : ' (INVALID)'}\n`;
    for (const e of j.errors) out += `           ${e}\n`;
    if (j.source) out += `  source   ${j.source.dir} ${j.source.pattern}: ${j.source.exists ? `${j.source.files} file${j.source.files === 1 ? '' : 's'}` : 'MISSING'}\n`;
    if (j.target) out += `  target   ${j.target.table}: ${j.target.note || 'not checked'}\n`;
    if (j.schedule) out += `  schedule ${j.schedule} (${j.timezone}): next ${j.next_fire ?? 'never'}${j.next_fire_local && j.timezone !== 'UTC' ? ` = ${j.next_fire_local} ${j.timezone}` : ''}\n`;
  }
  out += '\n';
  if (r.ok) return out + 'ok: a run would work\n';
  return out + `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}:\n${r.problems.map((p) => `  - ${p}\n`).join('')}`;
}
