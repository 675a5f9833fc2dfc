/** Trees of tensors (nested plain objects and arrays), flattened in a stable key order. */
import { Tensor } from "./tensor.js";

export type Tree = Tensor | readonly Tree[] | { readonly [key: string]: Tree };

/** Leaves of a tree in deterministic order (object keys sorted). Non-tensor leaves are not allowed. */
export function flatten(
  tree: unknown,
  path = "",
  out: { path: string; leaf: Tensor }[] = [],
): { path: string; leaf: Tensor }[] {
  if (tree instanceof Tensor) {
    out.push({ path, leaf: tree });
  } else if (Array.isArray(tree)) {
    tree.forEach((t, i) => {
      flatten(t, path ? `${path}.${i}` : String(i), out);
    });
  } else if (tree !== null && typeof tree === "object") {
    for (const key of Object.keys(tree).sort()) {
      flatten((tree as Record<string, unknown>)[key], path ? `${path}.${key}` : key, out);
    }
  } else if (typeof tree === "number") {
    throw new TypeError(
      `tree leaf at "${path || "<root>"}" is the number ${tree}, where a Tensor is expected: pass ` +
        `T.scalar(${tree}) (a 0-d float32 tensor; T.scalar(${tree}, "int32") for an integer) so that ` +
        "it is an input, or use the number inside the function, where it becomes a constant",
    );
  } else {
    throw new TypeError(
      `tree leaf at "${path || "<root>"}" is ${String(tree)}: expected a Tensor, an array or an object`,
    );
  }
  return out;
}

export const leaves = (tree: unknown): Tensor[] => flatten(tree).map((e) => e.leaf);

/** Rebuilds a tree with the structure of `like`, taking leaves from `values` in flatten order. */
export function unflatten<T>(like: T, values: readonly Tensor[]): T {
  let i = 0;
  const build = (t: unknown): unknown => {
    if (t instanceof Tensor) return values[i++];
    if (Array.isArray(t)) return t.map(build);
    if (t !== null && typeof t === "object") {
      const o: Record<string, unknown> = {};
      for (const key of Object.keys(t).sort()) o[key] = build((t as Record<string, unknown>)[key]);
      return o;
    }
    throw new TypeError(`cannot rebuild a tree leaf ${String(t)}`);
  };
  const out = build(like) as T;
  if (i !== values.length)
    throw new RangeError(`unflatten: tree has ${i} leaves, got ${values.length} values`);
  return out;
}

/** Applies `f` leaf by leaf across trees of the same structure. */
export function mapTree<T>(f: (...xs: Tensor[]) => Tensor, tree: T, ...rest: T[]): T {
  const a = leaves(tree);
  const others = rest.map(leaves);
  return unflatten(
    tree,
    a.map((x, i) => f(x, ...others.map((o) => o[i]))),
  );
}

/** A signature string of a tree's structure, shapes and dtypes (the compile cache key). */
export function signature(tree: unknown): string {
  return flatten(tree)
    .map(({ path, leaf }) => `${path}:${leaf.dtype}[${leaf.shape.join(",")}]`)
    .join(";");
}
