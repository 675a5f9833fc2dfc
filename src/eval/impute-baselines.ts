/**
 * Baselines for filling missing table cells, to compare a diffusion imputation against (issue 11):
 *
 * - mean/mode: each missing numeric cell gets its column's training mean (0 in standardised space),
 *   each missing categorical cell the most frequent training category;
 * - k-nearest neighbours: for each row, the k training rows closest on the row's PRESENT columns
 *   (Euclidean distance in model space: standardised numbers, +-1 one-hot blocks, divided by the
 *   number of present entries so rows with few present cells are comparable); the missing numeric
 *   cells get the neighbours' mean, the missing categorical cells their most frequent category
 *   (ties: the smallest category index).
 *
 * Both work on encoded rows (table-schema.ts `encodeRows`: `data` and `known`, [N, D]) and return
 * filled [N, D] rows that `decodeRows` turns back into cells; present entries are copied unchanged.
 * Browser-safe.
 */
import { columnOffsets, type TableSchema } from "../data/table-schema.js";

/** Encoded rows with a mask of known entries ([N, D] each). */
export interface MaskedRows {
  readonly data: Float32Array;
  readonly known: Float32Array;
}

/** Per column of `schema`: the mean of the training rows' block ([D]; numeric: ~0 when standardised). */
function columnMeans(train: Float32Array, dim: number): Float64Array {
  const n = train.length / dim;
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mean[d]! += train[i * dim + d]!;
  return mean.map((v) => v / n);
}

/** Writes into `out` row i's block of column j: numeric -> `value[0]`, categorical -> one-hot of argmax `value`. */
function fillBlock(
  out: Float32Array,
  at: number,
  width: number,
  numeric: boolean,
  value: ArrayLike<number>,
): void {
  if (numeric) {
    out[at] = value[0]!;
    return;
  }
  let best = 0;
  for (let q = 1; q < width; q++) if (value[q]! > value[best]!) best = q;
  for (let q = 0; q < width; q++) out[at + q] = q === best ? 1 : -1;
}

/**
 * Mean/mode imputation: the training mean of each missing numeric entry, the most frequent training
 * category (the largest block mean of the +-1 one-hot) of each missing categorical cell.
 */
export function imputeMeanMode(schema: TableSchema, train: Float32Array, rows: MaskedRows): Float32Array {
  const { offsets, dim } = columnOffsets(schema);
  const mean = columnMeans(train, dim);
  const out = Float32Array.from(rows.data);
  const n = rows.data.length / dim;
  for (let i = 0; i < n; i++) {
    schema.columns.forEach((col, j) => {
      const at = i * dim + offsets[j]!;
      if (rows.known[at] === 1) return;
      const width = col.kind === "numeric" ? 1 : col.categories.length;
      fillBlock(out, at, width, col.kind === "numeric", mean.subarray(offsets[j]!, offsets[j]! + width));
    });
  }
  return out;
}

/**
 * k-nearest-neighbour imputation on the present columns (see the file comment). `k` is clamped to
 * the number of training rows. A row with no present entry gets the mean/mode of all training rows.
 */
export function imputeKnn(schema: TableSchema, train: Float32Array, rows: MaskedRows, k = 5): Float32Array {
  const { offsets, dim } = columnOffsets(schema);
  if (!Number.isInteger(k) || k < 1) throw new Error(`k: expected a positive integer, got ${k}`);
  const m = train.length / dim;
  const kk = Math.min(k, m);
  const out = Float32Array.from(rows.data);
  const n = rows.data.length / dim;
  const dist = new Float64Array(m);
  const avg = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const row = i * dim;
    for (let r = 0; r < m; r++) {
      let s = 0;
      for (let d = 0; d < dim; d++) {
        if (rows.known[row + d] === 1) s += (rows.data[row + d]! - train[r * dim + d]!) ** 2;
      }
      dist[r] = s;
    }
    const nearest = Array.from({ length: m }, (_, r) => r)
      .sort((a, b) => dist[a]! - dist[b]! || a - b)
      .slice(0, kk);
    avg.fill(0);
    for (const r of nearest) for (let d = 0; d < dim; d++) avg[d]! += train[r * dim + d]! / kk;
    schema.columns.forEach((col, j) => {
      const at = row + offsets[j]!;
      if (rows.known[at] === 1) return;
      const width = col.kind === "numeric" ? 1 : col.categories.length;
      fillBlock(out, at, width, col.kind === "numeric", avg.subarray(offsets[j]!, offsets[j]! + width));
    });
  }
  return out;
}

/** Imputation error on the hidden cells: pooled RMSE over numeric cells (model space: standardised units) and categorical accuracy. */
export interface ImputeScore {
  /** Root-mean-square error over the hidden numeric cells, in standardised units. */
  rmse: number;
  /** Fraction of hidden categorical cells whose category is right. */
  accuracy: number;
  numericCells: number;
  categoricalCells: number;
}

/** Scores `filled` against `truth` ([N, D] encoded) on the entries not `known`. */
export function scoreImputation(
  schema: TableSchema,
  truth: Float32Array,
  filled: Float32Array,
  known: Float32Array,
): ImputeScore {
  const { offsets, dim } = columnOffsets(schema);
  const n = truth.length / dim;
  let se = 0;
  let numericCells = 0;
  let right = 0;
  let categoricalCells = 0;
  const argmax = (x: Float32Array, at: number, w: number) => {
    let b = 0;
    for (let q = 1; q < w; q++) if (x[at + q]! > x[at + b]!) b = q;
    return b;
  };
  for (let i = 0; i < n; i++) {
    schema.columns.forEach((col, j) => {
      const at = i * dim + offsets[j]!;
      if (known[at] === 1) return;
      if (col.kind === "numeric") {
        se += (filled[at]! - truth[at]!) ** 2;
        numericCells++;
      } else {
        const w = col.categories.length;
        if (argmax(filled, at, w) === argmax(truth, at, w)) right++;
        categoricalCells++;
      }
    });
  }
  return {
    rmse: numericCells > 0 ? Math.sqrt(se / numericCells) : Number.NaN,
    accuracy: categoricalCells > 0 ? right / categoricalCells : Number.NaN,
    numericCells,
    categoricalCells,
  };
}
