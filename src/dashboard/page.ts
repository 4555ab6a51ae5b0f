/**
 * The dashboard page: plain HTML, CSS and JavaScript in one document, no CDN and no build step.
 * Every value from a CSV or a definition is inserted with textContent, never as HTML.
 */
const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2433;background:#f5f6f8}
header{background:#1d2433;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:baseline}
header h1{font-size:18px;margin:0} header span{opacity:.7}
main{padding:16px 20px;display:grid;gap:16px}
section{background:#fff;border-radius:6px;padding:12px 16px;box-shadow:0 1px 2px #0002}
h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{font-weight:600;color:#555} td.num{text-align:right;font-variant-numeric:tabular-nums}
.succeeded,.loaded{color:#157f3b}.failed{color:#b42318}.interrupted,.skipped{color:#8a6d00}.running{color:#175cd3}
.bar{background:#e6e9ef;border-radius:3px;height:8px;width:160px;display:inline-block;vertical-align:middle}
.bar>i{display:block;height:8px;border-radius:3px;background:#175cd3}
a{color:#175cd3;cursor:pointer} pre{white-space:pre-wrap;background:#f5f6f8;padding:6px;margin:4px 0;font-size:12px}
.muted{color:#888} svg text{font-size:10px;fill:#555} svg line.axis{stroke:#999}
#heartbeat{padding:4px 10px;border-radius:4px} #heartbeat.alive{background:#d1fadf;color:#157f3b} #heartbeat.dead{background:#fee4e2;color:#b42318}
button.run{font-size:12px}
`;

const SCRIPT = `
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return e;
}
const fmt = (n) => n == null ? '-' : Number(n).toLocaleString('en-US');
const when = (s) => s ? s.replace('T', ' ').slice(0, 19) : '-';
async function api(path) {
  const r = await fetch(path, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(path + ': ' + r.status);
  return r.json();
}
function fill(tbody, rows) { tbody.replaceChildren(...rows); }

let jobtypeRows = [];
async function loadJobTypes() {
  const data = await api('/api/jobtypes');
  jobtypeRows = data.jobtypes;
  fill($('jobtypes'), data.jobtypes.map((j) => { const l = j.last_run; return el('tr', { 'data-jobtype': j.name },
    el('td', {}, el('a', { onclick: () => showHistory(j.name) }, j.name)), el('td', {}, j.table || '-'), el('td', {}, j.schedule || '-'),
    el('td', { class: 'next-fire' }, j.next_fire ? when(j.next_fire) + ' UTC' : '-'),
    el('td', { class: 'last-run' }, l ? when(l.started_at) + ' UTC' : 'never'), el('td', { class: l ? l.status : 'muted' }, l ? l.status : '-'),
    el('td', { class: 'num' }, l ? fmt(l.rows_loaded) : '-'), el('td', { class: 'num' }, l ? fmt(l.rows_rejected) : '-'),
    el('td', { class: 'num' }, l && l.seconds != null ? l.seconds.toFixed(1) + ' s' : '-'),
    el('td', {}, j.defined === false ? '' : el('button', { class: 'run', onclick: () => runNow(j.name) }, 'Run now'))); }));
  for (const d of data.invalid) $('jobtypes').append(el('tr', {}, el('td', {}, d.name), el('td', { class: 'failed', colspan: '9' }, 'invalid: ' + d.errors.join('; '))));
  const select = $('jt-select');
  if (select.options.length === 0) for (const j of data.jobtypes) select.append(el('option', { value: j.name }, j.name));
}
/** The job type whose last run is the most recent: where the history opens. */
function mostRecent() {
  const ran = jobtypeRows.filter((j) => j.last_run).sort((a, b) => b.last_run.started_at.localeCompare(a.last_run.started_at));
  return ran.length ? ran[0].name : (jobtypeRows[0] && jobtypeRows[0].name);
}
let token = null;
async function runNow(name) {
  // Actions need Authorization: Bearer; the login cookie alone is not accepted (CSRF).
  token = token || window.prompt('Dashboard token, to run ' + name + ' now');
  if (!token) return;
  const r = await fetch('/api/jobtypes/' + encodeURIComponent(name) + '/run', { method: 'POST', headers: { authorization: 'Bearer ' + token } });
  const body = await r.json().catch(() => ({}));
  if (r.status === 401) token = null;
  $('action').textContent = r.status === 202 ? 'started ' + name + ' (trigger: dashboard)' : name + ': ' + (body.error || r.status);
  $('action').className = r.status === 202 ? 'running' : 'failed';
  refreshSoon();
}
async function loadHeartbeat() {
  const h = await api('/api/scheduler');
  const d = h.daemons[0];
  const hb = $('heartbeat');
  hb.className = h.alive ? 'alive' : 'dead';
  const fire = h.last_fire ? '; last fire ' + h.last_fire.job_type + ' ' + when(h.last_fire.fire_at) + ' UTC (' + h.last_fire.status + ')' : '';
  hb.textContent = (h.alive ? 'scheduler up since ' + when(d.started_at) + ' UTC, last beat ' + d.seconds_since_beat + ' s ago'
    : d ? 'scheduler DOWN: last beat ' + when(d.beat_at) + ' UTC' + (d.stopped_at ? ' (stopped)' : '') : 'no scheduler has run') + fire;
  const next = jobtypeRows.filter((j) => j.next_fire).sort((a, b) => a.next_fire.localeCompare(b.next_fire)).slice(0, 3);
  $('next-fires').textContent = next.length ? 'next fires: ' + next.map((j) => j.name + ' ' + when(j.next_fire) + ' UTC').join(', ') : '';
}

const live = new Map();
function renderLive() {
  const rows = [...live.values()].sort((a, b) => (a.job_type + a.file).localeCompare(b.job_type + b.file));
  fill($('running'), rows.length ? rows.map((m) => {
    const pct = m.bytes_total ? Math.min(100, Math.round(100 * m.bytes_read / m.bytes_total)) : 0;
    return el('tr', { 'data-file': m.file, 'data-rows': String(m.rows) },
      el('td', {}, m.job_type), el('td', {}, m.file.split('/').pop()),
      el('td', {}, el('span', { class: 'bar' }, el('i', { style: 'width:' + pct + '%' })), ' ' + pct + '%'),
      el('td', { class: 'num rows' }, fmt(m.rows)), el('td', { class: 'num' }, fmt(m.rows_per_second)), el('td', { class: 'num' }, fmt(m.rejected)),
      el('td', { class: 'num' }, m.buffer_size + '/' + m.buffer_capacity), el('td', { class: m.event === 'end' ? (m.status || '') : 'running' }, m.event === 'end' ? m.status : 'loading'));
  }) : [el('tr', {}, el('td', { colspan: '8', class: 'muted' }, 'No import is running.'))]);
}
function connect() {
  const es = new EventSource('/api/events');
  es.addEventListener('progress', (ev) => {
    const m = JSON.parse(ev.data);
    const key = m.pid + ' ' + m.job_type + ' ' + m.file;
    live.set(key, m);
    if (m.event === 'end') { setTimeout(() => { live.delete(key); renderLive(); }, 5000); refreshSoon(); }
    renderLive();
  });
  es.onerror = () => { $('conn').textContent = 'reconnecting…'; };
  es.onopen = () => { $('conn').textContent = 'live'; };
}
let refreshTimer;
function refreshSoon() { clearTimeout(refreshTimer); refreshTimer = setTimeout(() => { loadJobTypes(); loadHeartbeat(); showHistory($('jt-select').value); }, 500); }

// long: one SVG, drawn in one place: bars, line, both axes with units, time labels
function chart(runs) {
  const W = 680, H = 190, L = 56, R = 56, T = 16, B = 34, data = runs.slice().reverse();
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H); svg.setAttribute('width', W); svg.setAttribute('height', H); svg.setAttribute('id', 'history-chart');
  const maxRows = Math.max(1, ...data.map((r) => r.rows_loaded));
  const maxSec = Math.max(0.001, ...data.map((r) => r.seconds || 0));
  const bw = (W - L - R) / Math.max(1, data.length), ih = H - T - B;
  const ns = (t, a, text) => { const e = document.createElementNS('http://www.w3.org/2000/svg', t); for (const k in a) e.setAttribute(k, a[k]); if (text != null) e.textContent = text; svg.append(e); return e; };
  data.forEach((r, i) => {
    const h = ih * r.rows_loaded / maxRows;
    const rect = ns('rect', { x: L + i * bw + 2, y: T + ih - h, width: Math.max(1, bw - 4), height: h, fill: r.status === 'failed' ? '#f04438' : '#84adff', class: 'run-bar' });
    const t = document.createElementNS('http://www.w3.org/2000/svg', 'title'); t.textContent = 'run ' + r.run_id + ' at ' + when(r.started_at) + ' UTC: ' + fmt(r.rows_loaded) + ' rows, ' + (r.seconds || 0).toFixed(1) + ' s'; rect.append(t);
  });
  const pts = data.map((r, i) => (L + i * bw + bw / 2) + ',' + (T + ih - ih * (r.seconds || 0) / maxSec)).join(' ');
  if (data.length) ns('polyline', { points: pts, fill: 'none', stroke: '#1d2433', 'stroke-width': 1.5, class: 'duration-line' });
  // Axes: rows on the left, seconds on the right, run start times (UTC) below.
  ns('line', { x1: L, y1: T, x2: L, y2: T + ih, class: 'axis' }); ns('line', { x1: W - R, y1: T, x2: W - R, y2: T + ih, class: 'axis' });
  ns('line', { x1: L, y1: T + ih, x2: W - R, y2: T + ih, class: 'axis' });
  ns('text', { x: L - 4, y: T + 4, 'text-anchor': 'end', class: 'y-rows' }, fmt(maxRows)); ns('text', { x: L - 4, y: T + ih, 'text-anchor': 'end' }, '0');
  ns('text', { x: 2, y: T + ih / 2, class: 'y-unit' }, 'rows');
  ns('text', { x: W - R + 4, y: T + 4, class: 'y-seconds' }, maxSec.toFixed(1) + ' s'); ns('text', { x: W - R + 4, y: T + ih }, '0 s');
  ns('text', { x: W - R + 4, y: T + ih / 2, class: 'y-unit' }, 'duration');
  if (data.length) {
    ns('text', { x: L, y: H - 18, class: 'x-first' }, when(data[0].started_at));
    ns('text', { x: W - R, y: H - 18, 'text-anchor': 'end', class: 'x-last' }, when(data[data.length - 1].started_at));
    ns('text', { x: (W) / 2, y: H - 4, 'text-anchor': 'middle', class: 'x-unit' }, 'run start (UTC), oldest to newest: bars rows loaded, line seconds');
  }
  return svg;
}
async function showHistory(name) {
  if (!name) return;
  $('jt-select').value = name;
  const { runs } = await api('/api/runs?job_type=' + encodeURIComponent(name) + '&limit=20');
  const range = runs.length ? 'last ' + runs.length + ' runs, ' + when(runs[runs.length - 1].started_at) + ' – ' + when(runs[0].started_at) + ' UTC' : '';
  $('chart').replaceChildren(...(runs.length ? [el('div', { id: 'chart-range', class: 'muted' }, range), chart(runs)] : [el('p', { class: 'muted' }, 'No runs yet.')]));
  fill($('runs'), runs.map((r) => el('tr', {},
    el('td', {}, el('a', { onclick: () => showRun(r.run_id) }, String(r.run_id))), el('td', {}, when(r.started_at)), el('td', { class: r.status }, r.status),
    el('td', {}, r.trigger), el('td', { class: 'num' }, fmt(r.rows_loaded)), el('td', { class: 'num' }, fmt(r.rows_rejected)),
    el('td', { class: 'num' }, r.seconds == null ? '-' : r.seconds.toFixed(1)), el('td', {}, r.error || ''))));
  return runs;
}
async function showRun(id) {
  const r = await api('/api/runs/' + id);
  $('detail').replaceChildren(el('h2', { id: 'run-title' }, 'Run ' + r.id + ' (' + r.status + '), started ' + when(r.started_at) + ' UTC'), el('table', {}, el('tbody', {}, ...r.files.map((f) => el('tr', {},
    el('td', {}, f.job_type), el('td', {}, f.path), el('td', { class: f.status }, f.status + (f.reason ? ' (' + f.reason + ')' : '')), el('td', { class: 'num' }, fmt(f.rows_loaded)),
    el('td', { class: 'num' }, f.rows_rejected ? el('a', { onclick: () => showRejects(f.id) }, fmt(f.rows_rejected) + ' rejects') : '0'),
    el('td', {}, f.error_code || ''))))));
}
async function showRejects(fileId) {
  const r = await api('/api/files/' + fileId + '/rejects');
  $('detail').replaceChildren(el('h2', {}, 'Rejects of ' + r.file.path), ...r.groups.map((g) => el('div', { class: 'reject-group' },
    el('h3', {}, g.code + ' × ' + g.count),
    ...g.samples.map((s) => el('div', { class: 'sample' }, el('span', {}, 'line ' + s.line + (s.column ? ', ' + s.column : '') + ': ' + s.message), el('pre', {}, s.record))))));
}
$('jt-select').addEventListener('change', (e) => showHistory(e.target.value));
// The morning after: open on the job type that ran last, and on its latest run.
loadJobTypes().then(async () => {
  loadHeartbeat();
  const runs = await showHistory(mostRecent());
  if (runs && runs.length) showRun(runs[0].run_id);
});
renderLive();
connect();
setInterval(() => { loadJobTypes().then(loadHeartbeat); }, 10000);
`;

export const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>importer</title><meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head>
<body><header><h1>importer</h1><span id="conn">connecting…</span><span id="heartbeat">scheduler: …</span><span id="next-fires"></span></header>
<main>
<section><h2>Job types <span id="action"></span></h2><table><thead><tr><th>Name</th><th>Table</th><th>Schedule</th><th>Next fire</th><th>Last run</th><th>Result</th><th>Rows</th><th>Rejects</th><th>Duration</th><th></th></tr></thead><tbody id="jobtypes"></tbody></table></section>
<section><h2>Running imports</h2><table><thead><tr><th>Job type</th><th>File</th><th>Read</th><th>Rows</th><th>Rows/s</th><th>Rejects</th><th>Buffer</th><th>State</th></tr></thead><tbody id="running"></tbody></table></section>
<section><h2>History <select id="jt-select"></select></h2><div id="chart"></div>
<table><thead><tr><th>Run</th><th>Started</th><th>Result</th><th>Trigger</th><th>Rows</th><th>Rejects</th><th>Seconds</th><th>Error</th></tr></thead><tbody id="runs"></tbody></table></section>
<section id="detail"><p class="muted">Pick a run to see its files, and a file to see its rejects.</p></section>
</main><script>${SCRIPT}</script></body></html>`;

export function loginPage(message?: string): string {
  const note = message ? `<p style="color:#b42318">${message.replace(/[<>&"]/g, '')}</p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>importer: sign in</title><style>${STYLE}</style></head>
<body><header><h1>importer</h1></header><main><section><h2>Sign in</h2>${note}
<form method="post" action="/login"><label>Dashboard token <input type="password" name="token" autofocus></label> <button type="submit">Sign in</button></form>
</section></main></body></html>`;
}
