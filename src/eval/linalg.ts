/**
 * Small dense float64 linear algebra for the metrics: square matrices as row-major Float64Array.
 * The symmetric eigendecomposition is the cyclic Jacobi method (Golub & Van Loan, "Matrix
 * Computations", 4th ed., Algorithm 8.5.3; rotation formulas as Numerical Recipes' `jacobi`):
 * stable and accurate to working precision for symmetric matrices, O(n^3) per sweep, and a handful of
 * sweeps for the 128x128 covariances of the feature nets. Browser-safe.
 */

/** A square n x n matrix, row-major. */
export interface Square {
  readonly data: Float64Array;
  readonly n: number;
}

export function square(data: ArrayLike<number>, n: number, what = "matrix"): Square {
  if (data.length !== n * n) throw new Error(`${what}: has ${data.length} values, expected ${n}x${n}`);
  return { data: Float64Array.from(data), n };
}

export function identity(n: number): Square {
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return { data, n };
}

export function trace(a: Square): number {
  let t = 0;
  for (let i = 0; i < a.n; i++) t += a.data[i * a.n + i]!;
  return t;
}

/** a @ b. */
export function matmul(a: Square, b: Square): Square {
  const n = a.n;
  if (b.n !== n) throw new Error(`matmul: sizes differ (${n} vs ${b.n})`);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a.data[i * n + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j]! += aik * b.data[k * n + j]!;
    }
  }
  return { data: out, n };
}

/** (a + a^T) / 2: removes the rounding asymmetry of products that are symmetric in exact arithmetic. */
export function symmetrize(a: Square): Square {
  const n = a.n;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) out[i * n + j] = 0.5 * (a.data[i * n + j]! + a.data[j * n + i]!);
  }
  return { data: out, n };
}

/** Eigenvalues (ascending) and eigenvectors (the columns of `vectors`) of a symmetric matrix. */
export interface Eigen {
  values: Float64Array;
  vectors: Square;
}

function offDiagonalNorm2(a: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) s += 2 * a[i * n + j]! ** 2;
  return s;
}

/** Applies the Jacobi rotation in the (p, q) plane that zeroes a[p][q] to `a` (both sides) and `v`. */
function rotate(a: Float64Array, v: Float64Array, n: number, p: number, q: number): void {
  const apq = a[p * n + q]!;
  const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
  const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  for (let k = 0; k < n; k++) {
    const akp = a[k * n + p]!;
    const akq = a[k * n + q]!;
    a[k * n + p] = c * akp - s * akq;
    a[k * n + q] = s * akp + c * akq;
  }
  for (let k = 0; k < n; k++) {
    const apk = a[p * n + k]!;
    const aqk = a[q * n + k]!;
    a[p * n + k] = c * apk - s * aqk;
    a[q * n + k] = s * apk + c * aqk;
  }
  for (let k = 0; k < n; k++) {
    const vkp = v[k * n + p]!;
    const vkq = v[k * n + q]!;
    v[k * n + p] = c * vkp - s * vkq;
    v[k * n + q] = s * vkp + c * vkq;
  }
}

/**
 * Symmetric eigendecomposition a = V diag(values) V^T by cyclic Jacobi sweeps until the off-diagonal
 * mass is below (1e-15 ||a||_F)^2, at most `maxSweeps` (default 60) sweeps. Only the symmetric part of
 * `a` is meaningful; pass `symmetrize(a)` for products that are symmetric up to rounding.
 */
export function symmetricEigen(a: Square, maxSweeps = 60): Eigen {
  const n = a.n;
  const w = Float64Array.from(a.data);
  const v = identity(n).data;
  let frob2 = 0;
  for (const x of w) frob2 += x * x;
  const tol = (1e-15 * Math.sqrt(frob2)) ** 2;
  for (let sweep = 0; sweep < maxSweeps && offDiagonalNorm2(w, n) > tol; sweep++) {
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        if (w[p * n + q] !== 0) rotate(w, v, n, p, q);
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => w[i * n + i]! - w[j * n + j]!);
  const values = Float64Array.from(order, (i) => w[i * n + i]!);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src]!;
  });
  return { values, vectors: { data: vectors, n } };
}

/** V diag(f(values)) V^T. */
export function spectralMap(e: Eigen, f: (lambda: number) => number): Square {
  const n = e.vectors.n;
  const v = e.vectors.data;
  const fl = Float64Array.from(e.values, f);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += v[i * n + k]! * fl[k]! * v[j * n + k]!;
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return { data: out, n };
}

/**
 * The principal square root of a symmetric positive semi-definite matrix. Eigenvalues that rounding
 * made slightly negative are clamped to 0 (a covariance estimated from fewer points than dimensions is
 * singular).
 */
export function sqrtPsd(a: Square): Square {
  return spectralMap(symmetricEigen(symmetrize(a)), (l) => Math.sqrt(Math.max(l, 0)));
}
