/**
 * Reverse-mode autodiff. `valueAndGrad(f)` runs `f` with its first argument's leaves tracked on a tape,
 * then walks the tape backwards through the vector-Jacobian rules. Works the same eagerly and inside
 * `compile` (where the backward pass becomes part of the traced graph).
 */
import * as T from "./ops.js";
import { popTape, pushTape, Tape } from "./tape.js";
import { Tensor } from "./tensor.js";
import { leaves, unflatten } from "./tree.js";
import { vjpRules } from "./vjp.js";

/** Gradient of the scalar output with respect to each tracked input (zeros where unused). */
function backward(tape: Tape, output: Tensor, inputs: readonly Tensor[]): Tensor[] {
  const grads = new Map<Tensor, Tensor>();
  grads.set(output, T.onesLike(output));
  for (let r = tape.records.length - 1; r >= 0; r--) {
    const rec = tape.records[r];
    const g = grads.get(rec.output);
    if (!g) continue;
    grads.delete(rec.output);
    const rule = vjpRules[rec.prim] as (
      g: Tensor,
      ins: readonly Tensor[],
      out: Tensor,
      p: unknown,
    ) => (Tensor | null)[];
    const cts = rule(g, rec.inputs, rec.output, rec.params);
    rec.inputs.forEach((x, i) => {
      const ct = cts[i];
      if (!ct || !tape.tracked.has(x)) return;
      const prev = grads.get(x);
      grads.set(x, prev ? T.add(prev, ct) : ct);
    });
  }
  return inputs.map((x) => grads.get(x) ?? T.zerosLike(x));
}

export type ValueAndGrad<P, A extends unknown[], Aux> = (
  params: P,
  ...args: A
) => { value: Tensor; grads: P; aux: Aux };

/**
 * `valueAndGrad(f)(params, ...args)` returns f's scalar value and d value / d params as a tree shaped like
 * `params`. `f` may return `{ loss, aux }` to carry extra outputs (not differentiated) along.
 */
export function valueAndGrad<P, A extends unknown[], Aux = undefined>(
  f: (params: P, ...args: A) => Tensor | { loss: Tensor; aux: Aux },
): ValueAndGrad<P, A, Aux> {
  return (params, ...args) => {
    const tape = new Tape();
    const tracked = leaves(params).map((t) => t.alias());
    for (const t of tracked) tape.tracked.add(t);
    pushTape(tape);
    let out: Tensor | { loss: Tensor; aux: Aux };
    try {
      out = f(unflatten(params, tracked), ...args);
    } finally {
      popTape(tape);
    }
    const value = out instanceof Tensor ? out : out.loss;
    const aux = (out instanceof Tensor ? undefined : out.aux) as Aux;
    if (value.size !== 1)
      throw new RangeError(`valueAndGrad: the function must return a scalar, got ${value}`);
    const grads = backward(tape, value, tracked);
    return { value, grads: unflatten(params, grads), aux };
  };
}

export function grad<P, A extends unknown[]>(
  f: (params: P, ...args: A) => Tensor,
): (params: P, ...args: A) => P {
  const vg = valueAndGrad(f);
  return (params, ...args) => vg(params, ...args).grads;
}
