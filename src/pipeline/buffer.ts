/**
 * A bounded FIFO buffer between the batcher and the consumers: the single place where demand meets
 * supply. `put` waits while the buffer is full (that wait is what stops the producer reading), and
 * `take` waits while it is empty. Capacity, size and waiting times are observable.
 */
export class BoundedBuffer<T> {
  readonly capacity: number;
  private readonly items: T[] = [];
  private closed = false;
  private failure: unknown;
  private readonly putWaiters: Array<() => void> = [];
  private readonly takeWaiters: Array<() => void> = [];
  /** Milliseconds the producer spent waiting for room (waiting on demand). */
  putWaitMs = 0;
  /** Milliseconds the consumers spent waiting for a batch. */
  takeWaitMs = 0;
  /** Most items ever held at once. */
  highWater = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new TypeError(`Expected buffer capacity to be an integer from 1 upwards, got ${String(capacity)}`);
    }
    this.capacity = capacity;
  }

  get size(): number {
    return this.items.length;
  }

  /** Adds an item, waiting for room. Rejects once the buffer has been failed. */
  async put(item: T): Promise<void> {
    if (this.items.length >= this.capacity && !this.closed) {
      const started = performance.now();
      while (this.items.length >= this.capacity && !this.closed) {
        await new Promise<void>((resolve) => this.putWaiters.push(resolve));
      }
      this.putWaitMs += performance.now() - started;
    }
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw new Error('BoundedBuffer: put after close');
    this.items.push(item);
    if (this.items.length > this.highWater) this.highWater = this.items.length;
    this.takeWaiters.shift()?.();
  }

  /** The oldest item, or undefined once the buffer is closed and drained (or failed). */
  async take(): Promise<T | undefined> {
    if (this.items.length === 0 && !this.closed) {
      const started = performance.now();
      while (this.items.length === 0 && !this.closed) {
        await new Promise<void>((resolve) => this.takeWaiters.push(resolve));
      }
      this.takeWaitMs += performance.now() - started;
    }
    if (this.failure !== undefined) return undefined;
    const item = this.items.shift();
    this.putWaiters.shift()?.();
    return item;
  }

  /** No more items will be put; consumers drain what is left. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  /** Stops everything: pending and future puts reject with `err`, takes return undefined. */
  fail(err: unknown): void {
    if (this.failure === undefined) this.failure = err;
    this.closed = true;
    this.items.length = 0;
    this.wake();
  }

  private wake(): void {
    for (const w of this.putWaiters.splice(0)) w();
    for (const w of this.takeWaiters.splice(0)) w();
  }
}
