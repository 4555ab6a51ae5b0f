/**
 * DNS-rebinding protection: a page on an attacker's domain whose name is made to resolve to
 * 127.0.0.1 can reach a loopback dashboard from the victim's browser, as same-origin. Such a
 * request carries the attacker's name in its Host header, so the dashboard answers only requests
 * whose Host (port aside) is a localhost name, the address it is bound to, or a name the operator
 * allowed (`--allow-host`, IMPORTER_DASHBOARD_ALLOWED_HOSTS). Bound to every interface (0.0.0.0,
 * ::), the IP addresses of this machine's interfaces are accepted too: an IP literal cannot be
 * rebound.
 */
import os from 'node:os';

const LOCALHOST = ['localhost', '127.0.0.1', '::1'];
const WILDCARD = new Set(['0.0.0.0', '::', '']);
/** A host name or an IPv4 literal, or a bracketed IPv6 literal; then an optional port. */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::\d{1,5})?$/;

/** A name as compared: lower case, no brackets, no trailing dot. */
function normalize(name: string): string {
  return name.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

/** A name from --allow-host: a bare name or IP, or one with a port (the port is ignored). */
export function normalizeAllowedHost(entry: string): string {
  const e = entry.trim().toLowerCase();
  const m = HOST_HEADER.exec(e);
  return normalize(m ? m[1]! : e);
}

function interfaceAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((a) => normalize(a.address)));
}

/** Returns the check for Host headers; `bound` is the address given to listen(), `allowed` the operator's names. */
export function hostCheck(bound: string, allowed: readonly string[]): (header: string | undefined) => boolean {
  const names = new Set([...LOCALHOST, normalize(bound), ...allowed.map(normalizeAllowedHost)]);
  const anyInterface = WILDCARD.has(normalize(bound));
  return (header) => {
    if (header === undefined) return false;
    const m = HOST_HEADER.exec(header.trim().toLowerCase());
    if (!m) return false;
    const name = normalize(m[1]!);
    if (names.has(name)) return true;
    return anyInterface && /^[0-9a-f:.]+$/.test(name) && interfaceAddresses().includes(name);
  };
}
