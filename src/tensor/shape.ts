/** Shape arithmetic shared by the shape rules, kernels and autodiff. */

export type Shape = readonly number[];

export function size(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C order) strides. */
export function strides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmt(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/** NumPy broadcasting of two shapes; `null` if they are incompatible. */
export function broadcastShapes(a: Shape, b: Shape): number[] | null {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides to read an input of shape `inShape` broadcast to `outShape`:
 * 0 along broadcast axes, the input's own stride elsewhere.
 */
export function broadcastStrides(inShape: Shape, outShape: Shape): number[] {
  const own = strides(inShape);
  const off = outShape.length - inShape.length;
  return outShape.map((_d, i) => {
    const j = i - off;
    return j < 0 || inShape[j] === 1 ? 0 : own[j];
  });
}

/** Normalises a possibly negative axis against `rank`. */
export function normAxis(axis: number, rank: number, what = "axis"): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new RangeError(`${what} ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return a;
}

/** Calls `f(flatIndex, offsets)` over all elements of `shape` with per-operand strided offsets. */
export function forEachStrided(
  shape: Shape,
  operandStrides: number[][],
  f: (i: number, offsets: number[]) => void,
): void {
  const rank = shape.length;
  const n = size(shape);
  const k = operandStrides.length;
  const idx = new Array<number>(rank).fill(0);
  const off = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) {
    f(i, off);
    for (let ax = rank - 1; ax >= 0; ax--) {
      idx[ax]++;
      for (let j = 0; j < k; j++) off[j] += operandStrides[j][ax];
      if (idx[ax] < shape[ax]) break;
      for (let j = 0; j < k; j++) off[j] -= operandStrides[j][ax] * shape[ax];
      idx[ax] = 0;
    }
  }
}
