/**
 * A stateful key stream for host loops (training steps, sampling loops): `next()` hands out a fresh
 * key each call. The state is a root key and a counter, so a checkpoint saves it as JSON and a resumed
 * run continues with exactly the keys the uninterrupted run would have drawn.
 *
 * Key i is `deriveKey(root, Domain.stream, i)`: a domain of its own, so the stream never repeats a key
 * from `split(root, ...)` or `foldIn(root, ...)`.
 */
import { assertKey, Domain, deriveKey, type Key } from "./philox.js";

/** Serializable state of an `RngStream`. */
export interface RngStreamState {
  readonly key: [number, number];
  /** Number of keys handed out so far. */
  readonly counter: number;
}

export class RngStream {
  private readonly root: Key;
  private counter: number;

  constructor(key: Key, counter = 0) {
    assertKey(key);
    if (!Number.isSafeInteger(counter) || counter < 0) {
      throw new Error(`counter: expected a non-negative safe integer, got ${counter}`);
    }
    this.root = [key[0], key[1]];
    this.counter = counter;
  }

  /** The next key of the stream. */
  next(): Key {
    return deriveKey(this.root, Domain.stream, this.counter++);
  }

  /** A JSON-serializable snapshot; `RngStream.fromState(s)` continues from exactly here. */
  state(): RngStreamState {
    return { key: [this.root[0], this.root[1]], counter: this.counter };
  }

  /** Rebuild a stream from `state()` output (e.g. after `JSON.parse`), validating every field. */
  static fromState(s: unknown): RngStream {
    if (typeof s !== "object" || s === null) {
      throw new Error(`state: expected an object { key, counter }, got ${JSON.stringify(s)}`);
    }
    const { key, counter } = s as Record<string, unknown>;
    assertKey(key, "state.key");
    if (typeof counter !== "number" || !Number.isSafeInteger(counter) || counter < 0) {
      throw new Error(`state.counter: expected a non-negative safe integer, got ${JSON.stringify(counter)}`);
    }
    return new RngStream(key, counter);
  }
}
