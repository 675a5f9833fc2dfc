/** nn.Dropout with explicit randomness: identity in evaluation, a keyed Bernoulli mask in training. */
import { bernoulli, type Key } from "../random/index.js";
import * as T from "../tensor/index.js";
import { fail } from "./check.js";
import { keyForName } from "./init.js";
import { Module, type Params } from "./module.js";

/**
 * Where a Dropout layer gets its mask in training mode: the already-scaled keep mask (0 or 1/(1-p)) for
 * the layer at `path`, whose input has `shape`. The compiled training step uses a source that looks the
 * masks up among its inputs (drawn on the host from the step's key), so they are not trace constants.
 */
export type DropoutMaskSource = (path: string, shape: readonly number[], p: number) => T.Tensor;

/** The scaled keep mask of `size` elements drawn from `key` (host-side Philox): 0 or 1/(1-p). */
export function dropoutMaskValues(key: Key, size: number, p: number): Float32Array {
  if (p >= 1) return new Float32Array(size);
  const scale = 1 / (1 - p);
  const keep = bernoulli(key, size, 1 - p);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) if (keep[i] === 1) out[i] = scale;
  return out;
}

/** Options every model forward accepts. */
export interface ForwardOptions {
  /**
   * Training mode for dropout: each Dropout layer draws its mask from fold_in(dropoutKey, its path).
   * Absent: evaluation mode (dropout is the identity). Under `T.compile` the mask becomes a constant of
   * the trace, so compiled training with dropout must re-trace per key (or use p = 0).
   */
  dropoutKey?: Key;
  /** Training mode with masks from this source (takes precedence over `dropoutKey`). */
  dropoutMask?: DropoutMaskSource;
}

/** Zeroes each element with probability p and scales the rest by 1/(1-p) (Srivastava et al. 2014). */
export class Dropout extends Module {
  readonly p: number;

  constructor(path: string, o: { p: number }) {
    super(path);
    if (!(o.p >= 0 && o.p <= 1)) fail(this.label, `option p must be a probability in [0, 1], got ${o.p}`);
    this.p = o.p;
  }

  forward(_params: Params, x: T.Tensor, options: ForwardOptions = {}): T.Tensor {
    if (this.p === 0) return x;
    if (options.dropoutMask) {
      const mask = options.dropoutMask(this.path, x.shape, this.p);
      if (mask.rank !== x.rank || mask.shape.some((d, i) => d !== x.shape[i])) {
        fail(
          this.label,
          `dropout mask has shape [${mask.shape.join(", ")}], expected [${x.shape.join(", ")}]`,
        );
      }
      return T.mul(x, mask);
    }
    if (!options.dropoutKey) return x;
    if (this.p === 1) return T.mul(x, 0);
    const mask = dropoutMaskValues(keyForName(options.dropoutKey, this.path), x.size, this.p);
    return T.mul(x, T.tensor(mask, x.shape));
  }
}
