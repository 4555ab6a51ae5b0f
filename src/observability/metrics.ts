/** Per-file pipeline metrics: what each stage took in and gave out, and where time went waiting. */

export interface StageCounters {
  in: number;
  out: number;
}

export class PipelineMetrics {
  readonly startedAt = performance.now();
  bytesRead = 0;
  bytesTotal = 0;
  /** producer: records parsed; cast: rows cast (out) and rejected; batcher: batches cut. */
  readonly producer: StageCounters = { in: 0, out: 0 };
  readonly cast: StageCounters & { rejected: number } = { in: 0, out: 0, rejected: 0 };
  readonly batcher: StageCounters = { in: 0, out: 0 };
  readonly consumers: StageCounters & { rowsCommitted: number; copyMs: number; retries: number } = {
    in: 0,
    out: 0,
    rowsCommitted: 0,
    copyMs: 0,
    retries: 0,
  };
  /** Parse threads (0: the file parsed in the main thread), pieces sent to them, and time the producer waited for their results. */
  readonly parse = { threads: 0, pieces: 0, waitMs: 0 };
  /** A resumed file: the record and decoded byte offset it resumed at, and whether it read from there (seek) or read and dropped the part before. */
  readonly resume = { record: 0, offset: 0, seek: false };
  /** Filled in by the topology from its buffer. */
  buffer = { capacity: 0, size: 0, highWater: 0, producerWaitMs: 0, consumerWaitMs: 0 };

  snapshot() {
    const seconds = (performance.now() - this.startedAt) / 1000;
    return {
      seconds,
      bytesRead: this.bytesRead,
      bytesTotal: this.bytesTotal,
      producer: { ...this.producer },
      cast: { ...this.cast },
      parse: { ...this.parse },
      resume: { ...this.resume },
      batcher: { ...this.batcher },
      consumers: { ...this.consumers },
      buffer: { ...this.buffer },
    };
  }
}

export type MetricsSnapshot = ReturnType<PipelineMetrics['snapshot']>;
