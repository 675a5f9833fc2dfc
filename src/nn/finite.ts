/**
 * Finiteness of parameter trees: weights holding NaN or +-Inf are never written (checkpoints, model
 * folders) nor silently used (loading), and the errors name the tensor, the element and the value.
 * Browser-safe.
 */
import type { Params } from "./module.js";

/** Weights (or samples) that hold NaN or +-Inf. */
export class NonFiniteError extends Error {
  override name = "NonFiniteError";
}

/** Where a tree first holds a non-finite value. */
export interface NonFinite {
  /** The tensor's name (a group prefix, when given, joined with "."). */
  name: string;
  /** Flat index of the first non-finite element. */
  index: number;
  value: number;
  /** How many elements of that tensor are non-finite. */
  count: number;
  size: number;
}

/** Index of the first NaN/Inf in `values`, or -1. */
export function firstNonFiniteIndex(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return i;
  return -1;
}

/** The first tensor (in name order of `params`) holding a non-finite value, or null. */
export function findNonFinite(params: Params, group?: string): NonFinite | null {
  for (const [name, t] of Object.entries(params)) {
    if (t.dtype !== "float32") continue;
    const v = t.values() as Float32Array;
    const index = firstNonFiniteIndex(v);
    if (index < 0) continue;
    let count = 0;
    for (let i = index; i < v.length; i++) if (!Number.isFinite(v[i]!)) count++;
    return { name: group ? `${group}.${name}` : name, index, value: v[index]!, count, size: v.length };
  }
  return null;
}

/** "tensor "x" holds 3 non-finite values of 10 (first: NaN at element 4)". */
export function describeNonFinite(f: NonFinite): string {
  return `tensor "${f.name}" holds ${f.count} non-finite value${f.count === 1 ? "" : "s"} of ${f.size} (first: ${f.value} at element ${f.index})`;
}

/** Throws a NonFiniteError `${context}: tensor "..." holds ...` when any tensor is non-finite. */
export function assertFiniteParams(params: Params, context: string, group?: string): void {
  const bad = findNonFinite(params, group);
  if (bad) throw new NonFiniteError(`${context}: ${describeNonFinite(bad)}`);
}
