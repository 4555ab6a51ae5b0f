/** The messages between the parse pool (parsePool.ts) and its threads (parseWorker.ts). */
import type { JobType } from '../jobtypes/normalize.js';
import type { ProcessedChunk } from './chunk.js';
import type { HeaderMapping } from './header.js';

/** A thread's answer to one piece: the piece's records as a ProcessedChunk. */
export interface PieceResult extends ProcessedChunk {
  /** The pool's task id. */
  readonly task: number;
  readonly seq: number;
}

export type WorkerMessage =
  | { readonly init: { readonly context: number; readonly jobType: JobType; readonly mapping: HeaderMapping } }
  | { readonly forget: number }
  | { readonly piece: { readonly task: number; readonly context: number; readonly seq: number; readonly startLine: number; readonly startOffset: number; readonly buf: Uint8Array } };
