/** nn.Dropout with explicit randomness: identity in evaluation, a keyed Bernoulli mask in training. */
import { bernoulli, type Key } from "../random/index.js";
import * as T from "../tensor/index.js";
import { fail } from "./check.js";
import { keyForName } from "./init.js";
import { Module, type Params } from "./module.js";

/** Options every model forward accepts. */
export interface ForwardOptions {
  /**
   * Training mode for dropout: each Dropout layer draws its mask from fold_in(dropoutKey, its path).
   * Absent: evaluation mode (dropout is the identity). Under `T.compile` the mask becomes a constant of
   * the trace, so compiled training with dropout must re-trace per key (or use p = 0).
   */
  dropoutKey?: Key;
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
    if (!options.dropoutKey || this.p === 0) return x;
    if (this.p === 1) return T.mul(x, 0);
    const keep = bernoulli(keyForName(options.dropoutKey, this.path), x.size, 1 - this.p);
    const scale = 1 / (1 - this.p);
    const mask = Float32Array.from(keep, (k) => k * scale);
    return T.mul(x, T.tensor(mask, x.shape));
  }
}
