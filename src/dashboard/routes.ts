/**
 * Request routing of the dashboard, in the order each request is checked: its Host (DNS
 * rebinding, 403), the login form, the method, the token (401), then the page, /metrics, the live
 * stream and the JSON API.
 *
 * CORS: only with a token does the API answer `Access-Control-Allow-Origin: *` (so that another app
 * can embed it with a bearer token; a browser never attaches one on its own). Without a token no
 * answer carries CORS headers: another site's page cannot read the dashboard through its visitors'
 * browsers.
 */
import type http from 'node:http';
import type { Queryable } from '../db/read/queryable.js';
import type { Actions } from './actions.js';
import { api } from './api.js';
import { authorized, bearerAuthorized, login, refuse } from './auth.js';
import type { DashboardMetrics } from './metrics.js';
import { PAGE } from './page.js';
import type { LiveUpdates } from './sse.js';

export interface RouteContext {
  readonly db: Queryable;
  readonly jobtypesDir: string;
  readonly token: string | undefined;
  readonly hostAllowed: (host: string | undefined) => boolean;
  readonly metrics: DashboardMetrics;
  readonly live: LiveUpdates;
  readonly actions: Actions;
}

const PAGE_CSP = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'";

/** Answers one request; a failure inside is the caller's 500. */
export async function route(ctx: RouteContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://dashboard');
  const p = url.pathname;
  const cors: http.OutgoingHttpHeaders = ctx.token ? { 'access-control-allow-origin': '*' } : {};
  const json = (code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', ...cors, 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  res.setHeader('x-content-type-options', 'nosniff');
  if (!ctx.hostAllowed(req.headers.host)) {
    res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('forbidden: this Host is not allowed (see --allow-host)\n');
    return;
  }
  if (p === '/login' && req.method === 'POST') return login(req, res, ctx.token);
  if (req.method === 'OPTIONS' && p.startsWith('/api/') && ctx.token) {
    res.writeHead(204, { ...cors, 'access-control-allow-headers': 'authorization', 'access-control-allow-methods': 'GET, POST' });
    res.end();
    return;
  }
  const action = /^\/api\/jobtypes\/([^/]+)\/run$/.exec(p);
  if (action && req.method === 'POST') return runNow(ctx, req, decodeURIComponent(action[1]!), json);
  if (req.method !== 'GET') {
    res.writeHead(405, { allow: action ? 'POST' : 'GET' });
    res.end();
    return;
  }
  if (!authorized(req, ctx.token)) return refuse(res, p, json);
  if (p === '/' || p === '/login') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': PAGE_CSP });
    res.end(PAGE);
  } else if (p === '/metrics') {
    const text = await ctx.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': ctx.metrics.registry.contentType });
    res.end(text);
  } else if (p === '/api/events') {
    ctx.live.attach(req, res, cors);
  } else await api(ctx.db, ctx.jobtypesDir, url, json);
}

/**
 * POST /api/jobtypes/NAME/run: only with a token configured, and only with `Authorization: Bearer`
 * (the login cookie alone is refused: another site's form could send it, CSRF).
 */
async function runNow(ctx: RouteContext, req: http.IncomingMessage, name: string, json: (code: number, body: unknown) => void): Promise<void> {
  if (!ctx.token) return json(403, { error: 'actions need a token: start the dashboard with IMPORTER_DASHBOARD_TOKEN' });
  if (!bearerAuthorized(req, ctx.token)) return json(401, { error: 'actions need the header Authorization: Bearer <token> (the cookie alone is not enough)' });
  const r = await ctx.actions.runNow(name);
  json(r.code, r.body);
}
