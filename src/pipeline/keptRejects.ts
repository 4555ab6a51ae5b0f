/** A file stopped by its count threshold keeps the rejects that stopped it (db/keptRejects.ts). */
import type { Reject } from '../db/batch.js';
import { keepRejects } from '../db/keptRejects.js';
import { ImporterError, errorMessage } from '../errors.js';
import type { FinishContext } from './finish.js';

export async function keepThresholdRejects(ctx: FinishContext, error: unknown): Promise<void> {
  if (!(error instanceof ImporterError) || error.code !== 'REJECT_THRESHOLD') return;
  const rejects = error.context.rejects as readonly Reject[] | undefined;
  if (!rejects || rejects.length === 0) return;
  await ctx.budget
    .withClient((c) => keepRejects(c, ctx.target, rejects))
    .catch((err: unknown) => ctx.logger.warn({ file: ctx.target.file, err: errorMessage(err) }, 'could not keep the rejects that failed the file'));
}
