/**
 * The dashboard's live feed: LISTEN importer_progress (db/listen.ts, with reconnect), and only
 * messages that pass validation (dashboard/progress.ts) go on to `onMessage`.
 */
import type { Logger } from 'pino';
import { listen, type Listening } from '../db/listen.js';
import { PROGRESS_CHANNEL, type ProgressMessage } from '../observability/publish.js';
import { parseProgress } from './progress.js';

export async function listenProgress(url: string, log: Logger, onMessage: (m: ProgressMessage) => void): Promise<Listening> {
  let dropped = 0;
  return listen(url, PROGRESS_CHANNEL, {
    onPayload: (payload) => {
      const m = parseProgress(payload);
      if (m) onMessage(m);
      else if (dropped++ % 100 === 0) log.warn({ channel: PROGRESS_CHANNEL, dropped }, 'dashboard dropped a progress message that is not one an importer sends');
    },
    onLost: (err) => log.warn({ err: err.message }, 'dashboard LISTEN connection lost; reconnecting'),
  });
}
