/**
 * Live updates to browsers over server-sent events: the latest message per file, forwarded at most
 * every `throttleMs` per file (start and end at once), so a fast import cannot flood browsers. A
 * new stream first gets the latest message of every file being loaded.
 */
import type http from 'node:http';
import type { ProgressMessage } from '../observability/publish.js';

/** Files tracked at most: validated messages can still name many files (a forger's flood). */
const MAX_FILES = 10_000;

export interface LiveUpdates {
  publish(m: ProgressMessage): void;
  /** Answers an /api/events request with an event stream until the browser goes away. */
  attach(req: http.IncomingMessage, res: http.ServerResponse, headers: http.OutgoingHttpHeaders): void;
  stop(): void;
}

const frame = (m: ProgressMessage) => `event: progress\ndata: ${JSON.stringify(m)}\n\n`;

export function createLiveUpdates(throttleMs: number): LiveUpdates {
  const streams = new Set<http.ServerResponse>();
  const latest = new Map<string, ProgressMessage>();
  const lastSent = new Map<string, number>();
  const timers = new Map<string, NodeJS.Timeout>();
  const send = (key: string) => {
    const m = latest.get(key);
    if (!m) return;
    lastSent.set(key, Date.now());
    const data = frame(m);
    for (const s of streams) s.write(data);
    if (m.event === 'end') {
      latest.delete(key);
      lastSent.delete(key);
    }
  };
  const publish = (m: ProgressMessage) => {
    const key = `${m.pid}\0${m.job_type}\0${m.file}`;
    if (!latest.has(key) && latest.size >= MAX_FILES) return;
    latest.set(key, m);
    const wait = throttleMs - (Date.now() - (lastSent.get(key) ?? 0));
    if (m.event !== 'progress' || wait <= 0) {
      clearTimeout(timers.get(key));
      timers.delete(key);
      send(key);
    } else if (!timers.has(key)) {
      const timer = setTimeout(() => {
        timers.delete(key);
        send(key);
      }, wait);
      timers.set(key, timer);
    }
  };
  return {
    publish,
    attach(req, res, headers) {
      res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': connected\n\n');
      for (const m of latest.values()) res.write(frame(m));
      streams.add(res);
      req.on('close', () => streams.delete(res));
    },
    stop() {
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      for (const s of streams) s.end();
      streams.clear();
    },
  };
}
