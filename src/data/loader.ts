/**
 * Deterministic mini-batches. Epoch e visits the examples in the order
 * `permutation(foldIn(makeKey(seed), e), N)`, so the order depends only on (seed, epoch) and a run can
 * stop anywhere and resume exactly from its serializable position `{ epoch, index }` (index = examples
 * of that epoch already handed out).
 */
import { foldIn, makeKey } from "../random/philox.js";
import { permutation } from "../random/sample.js";
import { type Dataset, datasetSize, exampleData, exampleShape } from "./types.js";

/** Where the loader is: the next batch starts at example `index` of epoch `epoch`'s order. */
export interface LoaderPosition {
  readonly epoch: number;
  readonly index: number;
}

export interface Batch {
  /** [B, ...example shape], row-major. */
  readonly x: Float32Array;
  readonly shape: number[];
  readonly labels?: Int32Array;
  /** Dataset indices of the batch's examples. */
  readonly indices: Int32Array;
  readonly epoch: number;
}

export interface LoaderOptions {
  /** Seed of the shuffling key (default 0). */
  seed?: number;
  /** Shuffle each epoch (default true); false visits examples in dataset order. */
  shuffle?: boolean;
  /**
   * Drop an epoch's last incomplete batch (default true), so every batch has the same shape (compiled
   * graphs are cached per input shape).
   */
  dropLast?: boolean;
  /** Start here instead of { epoch: 0, index: 0 } (from a saved `position()`). */
  position?: LoaderPosition;
}

function assertNonNegInt(v: unknown, field: string): asserts v is number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new Error(`${field}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  }
}

export class DataLoader {
  readonly size: number;
  private readonly seed: number;
  private readonly shuffle: boolean;
  private readonly dropLast: boolean;
  private readonly per: number;
  private epoch: number;
  private index: number;
  private cached?: { epoch: number; order: Int32Array };

  constructor(
    readonly dataset: Dataset,
    opts: LoaderOptions = {},
  ) {
    this.size = datasetSize(dataset);
    if (this.size === 0) throw new Error(`dataset ${dataset.name}: has no examples`);
    this.seed = opts.seed ?? 0;
    makeKey(this.seed); // validates the seed
    this.shuffle = opts.shuffle ?? true;
    this.dropLast = opts.dropLast ?? true;
    this.per = exampleShape(dataset).reduce((a, b) => a * b, 1);
    const pos = opts.position ?? { epoch: 0, index: 0 };
    assertNonNegInt(pos.epoch, "position.epoch");
    assertNonNegInt(pos.index, "position.index");
    if (pos.index > this.size) {
      throw new Error(`position.index: expected at most the dataset size ${this.size}, got ${pos.index}`);
    }
    this.epoch = pos.epoch;
    this.index = pos.index;
  }

  /** The current position, to save with a checkpoint and pass back as `opts.position`. */
  position(): LoaderPosition {
    return { epoch: this.epoch, index: this.index };
  }

  /** The order in which epoch `epoch` visits the dataset. */
  order(epoch: number): Int32Array {
    assertNonNegInt(epoch, "epoch");
    if (this.cached?.epoch !== epoch) {
      const order = this.shuffle
        ? permutation(foldIn(makeKey(this.seed), epoch), this.size)
        : Int32Array.from({ length: this.size }, (_, i) => i);
      this.cached = { epoch, order };
    }
    return this.cached.order;
  }

  private checkBatchSize(batchSize: number): void {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`batchSize: expected a positive integer, got ${batchSize}`);
    }
    if (this.dropLast && batchSize > this.size) {
      throw new Error(
        `batchSize: ${batchSize} exceeds the ${this.size} examples of ${this.dataset.name} (with dropLast no batch fits)`,
      );
    }
  }

  /** Whether another batch of `batchSize` fits in the rest of the current epoch. */
  private fits(batchSize: number): boolean {
    return this.dropLast ? this.index + batchSize <= this.size : this.index < this.size;
  }

  private take(batchSize: number): Batch {
    const order = this.order(this.epoch);
    const b = Math.min(batchSize, this.size - this.index);
    const indices = order.slice(this.index, this.index + b);
    const src = exampleData(this.dataset);
    const x = new Float32Array(b * this.per);
    indices.forEach((k, i) => {
      x.set(src.subarray(k * this.per, (k + 1) * this.per), i * this.per);
    });
    const { labels } = this.dataset;
    const batch: Batch = {
      x,
      shape: [b, ...exampleShape(this.dataset)],
      indices,
      epoch: this.epoch,
      ...(labels ? { labels: Int32Array.from(indices, (k) => labels[k]!) } : {}),
    };
    this.index += b;
    if (!this.fits(batchSize)) this.nextEpoch();
    return batch;
  }

  private nextEpoch(): void {
    this.epoch++;
    this.index = 0;
  }

  /** The next batch, moving on to the next epoch when the current one is used up. */
  next(batchSize: number): Batch {
    this.checkBatchSize(batchSize);
    if (!this.fits(batchSize)) this.nextEpoch();
    return this.take(batchSize);
  }

  /**
   * The remaining batches of the current epoch. The position is updated before each batch is yielded
   * (saving it then resumes with the following batch); after the last one it is { epoch + 1, 0 }.
   */
  *batches(batchSize: number): Generator<Batch, void, undefined> {
    this.checkBatchSize(batchSize);
    if (!this.fits(batchSize)) this.nextEpoch();
    const epoch = this.epoch;
    while (this.epoch === epoch) yield this.take(batchSize);
  }
}
