/**
 * Token auth of the dashboard. With a token (IMPORTER_DASHBOARD_TOKEN), every request needs
 * `Authorization: Bearer <token>` or the cookie the login form sets; otherwise 401 and no data.
 * Without a token every request is let in (the default: loopback only, see dashboard/hosts.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { loginPage } from './page.js';

const COOKIE = 'importer_token';

/** Compares digests, so neither the length nor the content leaks through timing. */
function sameToken(given: string, token: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

function cookies(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    try {
      out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      /* a malformed cookie is no cookie */
    }
  }
  return out;
}

/** Only the Authorization header (what actions require), never the cookie. */
export function bearerAuthorized(req: http.IncomingMessage, token: string): boolean {
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') === true && sameToken(auth.slice(7), token);
}

export function authorized(req: http.IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ') && sameToken(auth.slice(7), token)) return true;
  const cookie = cookies(req)[COOKIE];
  return cookie !== undefined && sameToken(cookie, token);
}

/** POST /login: the form's token, checked; sets the cookie and goes to the page, or 401. */
export async function login(req: http.IncomingMessage, res: http.ServerResponse, token: string | undefined): Promise<void> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 16_384) break;
  }
  const given = new URLSearchParams(body).get('token') ?? '';
  if (token && sameToken(given, token)) {
    res.writeHead(303, { location: '/', 'set-cookie': `${COOKIE}=${encodeURIComponent(given)}; HttpOnly; SameSite=Strict; Path=/` });
    res.end();
  } else {
    res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage('That token is not right.'));
  }
}

/** The 401 answer for each kind of route: the login form, plain text for scrapers, JSON for the API. */
export function refuse(res: http.ServerResponse, path: string, json: (code: number, body: unknown) => void): void {
  if (path === '/' || path === '/login') {
    res.writeHead(401, { 'content-type': 'text/html; charset=utf-8', 'www-authenticate': 'Bearer' });
    res.end(loginPage());
  } else if (path === '/metrics') {
    res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' });
    res.end('unauthorized\n');
  } else json(401, { error: 'unauthorized' });
}
