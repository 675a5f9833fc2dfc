/**
 * Parameter initialisers, deterministic from a key (src/random). They reproduce PyTorch's default
 * initialisation *distributions* (not its random streams):
 * - nn.Linear / nn.Conv2d weights: `kaiming_uniform_(a=sqrt(5))`, i.e. U(-b, b) with b = 1/sqrt(fan_in),
 *   and their biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (`reset_parameters` in torch/nn/modules);
 * - nn.GroupNorm / nn.LayerNorm: weight 1, bias 0;
 * - nn.Embedding: N(0, 1).
 */
import { foldIn, type Key, normal, uniform } from "../random/index.js";
import * as T from "../tensor/index.js";

/** How one parameter is initialised (a tagged union, so it serialises and compares). */
export type Initializer =
  | { readonly kind: "uniform"; readonly bound: number }
  | { readonly kind: "normal"; readonly std: number }
  | { readonly kind: "constant"; readonly value: number };

/** PyTorch's default for Linear/Conv weights and biases: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export function fanInUniform(fanIn: number): Initializer {
  return { kind: "uniform", bound: 1 / Math.sqrt(fanIn) };
}

export const zerosInit: Initializer = { kind: "constant", value: 0 };
export const onesInit: Initializer = { kind: "constant", value: 1 };
export const standardNormalInit: Initializer = { kind: "normal", std: 1 };

/** 32-bit FNV-1a hash of a string (UTF-16 code units), used to give every parameter name its own key. */
export function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The key of parameter (or layer) `name` under `key`: fold_in(key, fnv1a(name)). Keying by name rather
 * than by position means adding a layer never changes the initial values of the others.
 */
export function keyForName(key: Key, name: string): Key {
  return foldIn(key, hashName(name));
}

/** A float32 tensor of `shape` drawn from `init` with `key`. */
export function initialize(init: Initializer, shape: readonly number[], key: Key): T.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  switch (init.kind) {
    case "constant":
      return T.full(shape, init.value);
    case "uniform": {
      const u = uniform(key, n);
      const b = init.bound;
      for (let i = 0; i < n; i++) u[i] = (2 * u[i]! - 1) * b;
      return T.tensor(u, shape);
    }
    case "normal": {
      const z = normal(key, n);
      if (init.std !== 1) for (let i = 0; i < n; i++) z[i] = z[i]! * init.std;
      return T.tensor(z, shape);
    }
  }
}
