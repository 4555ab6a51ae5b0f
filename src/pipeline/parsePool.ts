/**
 * One pool of parse worker threads for the whole process, shared by every file that loads at once,
 * as the connection budget is shared for connections. A file opens a context (its job type and
 * header mapping), submits pieces (source/split.ts) and gets one PieceResult per piece.
 *
 * A piece goes to the worker with the fewest pieces in flight; the caller (poolSource.ts)
 * bounds how many of its own pieces are in flight, so the pool never queues without bound. Threads
 * start on first use and stop with `close()`.
 *
 * Isolation: a thread that dies (a bug, out of memory) takes the pieces it held with it, and those
 * may belong to several files. Each of them is parsed once more, alone, in a thread of its own:
 * the piece that killed the thread kills that one too and fails its file (PARSE_THREAD_FAILED),
 * while the other files' pieces parse and load as if nothing happened. The pool then starts a
 * fresh thread for the next pieces.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ImporterError } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import type { Piece } from '../source/split.js';
import type { HeaderMapping } from './header.js';
import type { PieceResult, WorkerMessage } from './parseProtocol.js';

/**
 * V8's young generation per worker. The default (up to 3 × 16 MiB semi-spaces per thread) cost
 * ~50 MB of peak RSS with two threads for no measurable speed; 8 MiB kept the speed (1M rows:
 * 9.5 s against 9.6 s) while 4 MiB made the collector run too often (12.3 s). docs/performance.md.
 */
const YOUNG_GENERATION_MB = 8;

/** The compiled worker script (tests run from TypeScript sources, the worker always from dist/). */
function workerUrl(): URL {
  const here = new URL('./parseWorker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/src/pipeline/parseWorker.js', import.meta.url);
}

interface Task {
  readonly id: number;
  readonly context: number;
  /** Kept (the thread gets a copy) so that the piece can be parsed again if its thread dies. */
  readonly piece: Piece;
  readonly resolve: (r: PieceResult) => void;
  readonly reject: (err: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  /** Contexts this worker has been told about. */
  readonly known: Set<number>;
  /** Pieces sent and not answered, by task id. */
  readonly tasks: Map<number, Task>;
}

export interface ParseContext {
  /** Parses one piece in some worker thread. */
  parse(piece: Piece): Promise<PieceResult>;
  /** Lets the workers forget the context. */
  close(): void;
}

export class ParsePool {
  private readonly slots: Slot[] = [];
  private readonly contexts = new Map<number, { jobType: JobType; mapping: HeaderMapping }>();
  private nextContext = 1;
  private nextTask = 1;
  private closed = false;
  /** Threads parsing one piece alone, see parseAlone. */
  private readonly alone = new Set<Worker>();

  /** @param size worker threads; 0 means no pool (files parse in the main thread). */
  constructor(readonly size: number) {}

  open(jobType: JobType, mapping: HeaderMapping): ParseContext {
    if (this.closed) throw new Error('the parse pool is closed');
    const id = this.nextContext++;
    this.contexts.set(id, { jobType, mapping });
    return {
      parse: (piece) => this.submit(id, piece),
      close: () => {
        this.contexts.delete(id);
        for (const s of this.slots) {
          if (s.known.delete(id)) s.worker.postMessage({ forget: id } satisfies WorkerMessage);
        }
      },
    };
  }

  private submit(context: number, piece: Piece): Promise<PieceResult> {
    if (this.closed) return Promise.reject(new Error('the parse pool is closed'));
    if (this.slots.length < this.size) this.slots.push(this.spawn());
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.tasks.size < slot.tasks.size) slot = s;
    return new Promise<PieceResult>((resolve, reject) => {
      const task: Task = { id: this.nextTask++, context, piece, resolve, reject };
      slot.tasks.set(task.id, task);
      this.send(slot.worker, slot.known, task);
    });
  }

  /** Posts a task (and its context, the first time this thread sees it). The bytes are copied. */
  private send(worker: Worker, known: Set<number>, task: Task): void {
    if (!known.has(task.context)) {
      const c = this.contexts.get(task.context)!;
      worker.postMessage({ init: { context: task.context, jobType: c.jobType, mapping: c.mapping } } satisfies WorkerMessage);
      known.add(task.context);
    }
    const buf = new Uint8Array(task.piece.buf);
    const p = task.piece;
    worker.postMessage({ piece: { task: task.id, context: task.context, seq: p.seq, startLine: p.startLine, startOffset: p.startOffset, buf } } satisfies WorkerMessage, [
      buf.buffer as ArrayBuffer,
    ]);
  }

  private newWorker(): Worker {
    return new Worker(workerUrl(), { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
  }

  private spawn(): Slot {
    const slot: Slot = { worker: this.newWorker(), known: new Set(), tasks: new Map() };
    slot.worker.on('message', (r: PieceResult) => {
      const t = slot.tasks.get(r.task);
      slot.tasks.delete(r.task);
      t?.resolve(r);
    });
    let dead = false;
    const died = () => {
      if (dead || this.closed) return;
      dead = true;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      const orphans = [...slot.tasks.values()];
      slot.tasks.clear();
      void slot.worker.terminate();
      for (const t of orphans) this.parseAlone(t);
    };
    slot.worker.on('error', died);
    slot.worker.on('exit', died);
    return slot;
  }

  /** Parses one piece in a thread of its own (after its thread died); if that one dies too, the piece's file fails. */
  private parseAlone(task: Task): void {
    if (!this.contexts.has(task.context)) {
      task.reject(new Error('the file stopped loading'));
      return;
    }
    const worker = this.newWorker();
    this.alone.add(worker);
    let settled = false;
    const done = () => {
      settled = true;
      this.alone.delete(worker);
      void worker.terminate();
    };
    worker.once('message', (r: PieceResult) => {
      done();
      task.resolve(r);
    });
    const fail = (reason: string) => {
      if (settled) return;
      done();
      if (this.closed) return task.reject(new Error('the parse pool is closed'));
      task.reject(
        new ImporterError('PARSE_THREAD_FAILED', `the parse thread died (${reason}) while parsing the records from line ${task.piece.startLine}, twice; this file stops, other files go on`, {
          line: task.piece.startLine,
        }),
      );
    };
    worker.once('error', (err) => fail(err.message));
    worker.once('exit', (code) => fail(`exit code ${code}`));
    this.send(worker, new Set(), task);
  }

  /** Stops the threads; pieces still in flight fail. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    for (const s of slots) for (const t of s.tasks.values()) t.reject(new Error('the parse pool is closed'));
    const alone = [...this.alone];
    this.alone.clear();
    await Promise.all([...slots.map((s) => s.worker.terminate()), ...alone.map((w) => w.terminate())]);
  }
}
