/**
 * The column schema of a mixed table for joint diffusion over all its columns (tutorial 8.3,
 * "joint multimodal diffusion"): every row becomes ONE real vector that a single denoiser models,
 *
 *   numeric column j      ->  1 entry   (v - mean_j) / std_j                 (standardised)
 *   categorical column j  ->  K_j entries, +1 at the row's category, -1 elsewhere (one-hot in [-1, 1])
 *
 * and a generated vector is decoded back by v = x * std_j + mean_j and by the argmax over each
 * categorical block. The one-hot is scaled to +-1 (not 0/1) so its entries have the same order of
 * magnitude as the standardised numbers and as the unit-variance noise (as images in [-1, 1]).
 * The schema is saved in the model folder (model_index.json's "_diffuse.table"), so a model decodes
 * and imputes the columns it was trained on. Browser-safe (no file access).
 */
import { InputError } from "../io/input-error.js";

/** One column of a table schema. */
export type TableColumn =
  | { readonly name: string; readonly kind: "numeric"; readonly mean: number; readonly std: number }
  | { readonly name: string; readonly kind: "categorical"; readonly categories: readonly string[] };

export interface TableSchema {
  readonly columns: readonly TableColumn[];
}

/** A table cell (or column) that does not fit the schema; `field` is the column's name. */
export class TableCellError extends InputError {
  override name = "TableCellError";
}

/**
 * How rows are named in errors: `lines[i]` is the file line of data row i (from the CSV parser);
 * without it, "row i+1" (1 = the first row after the header).
 */
export type RowLines = readonly number[] | undefined;

function rowName(i: number, lines: RowLines): string {
  return lines?.[i] !== undefined ? `line ${lines[i]}` : `row ${i + 1}`;
}

function cellError(message: string, i: number, column: string, lines: RowLines): TableCellError {
  return new TableCellError(`${rowName(i, lines)}, column ${JSON.stringify(column)}: ${message}`, {
    field: column,
  });
}

/** Width of a column in the encoded vector (1, or the number of categories). */
export function columnWidth(c: TableColumn): number {
  return c.kind === "numeric" ? 1 : c.categories.length;
}

/** Offset of each column in the encoded vector, and the total width D. */
export function columnOffsets(schema: TableSchema): { offsets: number[]; dim: number } {
  const offsets: number[] = [];
  let dim = 0;
  for (const c of schema.columns) {
    offsets.push(dim);
    dim += columnWidth(c);
  }
  return { offsets, dim };
}

/** Whether a cell counts as missing (empty after trimming). */
export function isMissing(cell: string | undefined): boolean {
  return cell === undefined || cell.trim() === "";
}

/** A cell as a finite number, or NaN (strict: no trailing text, no empty string). */
function toNumber(cell: string): number {
  const t = cell.trim();
  return t === "" ? Number.NaN : Number(t);
}

/**
 * Infers a schema from string cells ([rows][columns]; `names` the header). A column whose present
 * cells are all numbers is numeric (mean and population std of those cells; std 1 for a constant
 * column); one with no numeric cell is categorical (sorted distinct values). A column mixing numbers
 * and text is an error naming the first cell of the minority kind; `categorical` forces columns to
 * be categorical (integer-coded classes).
 */
export function inferSchema(
  names: readonly string[],
  rows: readonly (readonly string[])[],
  categorical: readonly string[] = [],
  lines?: RowLines,
): TableSchema {
  for (const c of categorical) {
    if (!names.includes(c)) {
      throw new TableCellError(
        `categorical: column ${JSON.stringify(c)} is not in the header [${names.join(", ")}]`,
        { field: "categorical" },
      );
    }
  }
  const columns = names.map((name, j): TableColumn => {
    const present = rows.map((r, i) => ({ i, v: r[j]! })).filter((c) => !isMissing(c.v));
    if (present.length === 0) {
      throw new TableCellError(`column ${JSON.stringify(name)} has no values`, { field: name });
    }
    const numbers = present.filter((c) => Number.isFinite(toNumber(c.v)));
    if (categorical.includes(name) || numbers.length === 0) {
      const categories = [...new Set(present.map((c) => c.v.trim()))].sort();
      return { name, kind: "categorical", categories };
    }
    if (numbers.length < present.length) {
      const text = present.find((c) => !Number.isFinite(toNumber(c.v)))!;
      throw cellError(
        `expected a number (the column's other cells are numbers), got ${JSON.stringify(text.v)}`,
        text.i,
        name,
        lines,
      );
    }
    let mean = 0;
    for (const c of numbers) mean += toNumber(c.v);
    mean /= numbers.length;
    let v = 0;
    for (const c of numbers) v += (toNumber(c.v) - mean) ** 2;
    const std = Math.sqrt(v / numbers.length);
    return { name, kind: "numeric", mean, std: std > 0 ? std : 1 };
  });
  return { columns };
}

export interface EncodedRows {
  /** [N, D] row-major; missing entries are 0. */
  readonly data: Float32Array;
  /** Shape [N, D]; 1 where the entry is known (its cell was present), 0 where it is to be filled. */
  readonly known: Float32Array;
  readonly dim: number;
}

/**
 * Encodes string rows (columns in the schema's order) into model space. Empty cells are missing
 * (known = 0) unless `requireComplete`. A cell that does not parse (text in a numeric column, a
 * category the schema does not have) throws a TableCellError naming the 1-based row and the column.
 */
export function encodeRows(
  schema: TableSchema,
  rows: readonly (readonly string[])[],
  opts: { requireComplete?: boolean; lines?: RowLines } = {},
): EncodedRows {
  const { requireComplete = false, lines } = opts;
  const { offsets, dim } = columnOffsets(schema);
  const data = new Float32Array(rows.length * dim);
  const known = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => {
    schema.columns.forEach((col, j) => {
      const cell = row[j];
      const at = i * dim + offsets[j]!;
      if (isMissing(cell)) {
        if (requireComplete) {
          throw cellError("empty cell, expected a value", i, col.name, lines);
        }
        return;
      }
      if (col.kind === "numeric") {
        const v = toNumber(cell!);
        if (!Number.isFinite(v)) {
          throw cellError(`expected a number, got ${JSON.stringify(cell)}`, i, col.name, lines);
        }
        data[at] = (v - col.mean) / col.std;
        known[at] = 1;
        return;
      }
      const k = col.categories.indexOf(cell!.trim());
      if (k < 0) {
        throw cellError(
          `unknown category ${JSON.stringify(cell)}; expected one of ${col.categories.map((c) => JSON.stringify(c)).join(", ")}`,
          i,
          col.name,
          lines,
        );
      }
      for (let q = 0; q < col.categories.length; q++) {
        data[at + q] = q === k ? 1 : -1;
        known[at + q] = 1;
      }
    });
  });
  return { data, known, dim };
}

/** Shortest decimal text of a float32-rounded number (no float64 noise like 39.099998474121094). */
function formatNumber(v: number): string {
  return String(Number(Math.fround(v).toPrecision(7)));
}

/**
 * Decodes [N, D] model-space rows into cells: numeric -> x * std + mean, categorical -> the category
 * of the largest entry of its block (argmax; the first on ties).
 */
export function decodeRows(schema: TableSchema, data: Float32Array): string[][] {
  const { offsets, dim } = columnOffsets(schema);
  if (data.length % dim !== 0) {
    throw new Error(`decodeRows: ${data.length} values do not split into rows of ${dim}`);
  }
  const n = data.length / dim;
  const rows: string[][] = [];
  for (let i = 0; i < n; i++) {
    rows.push(
      schema.columns.map((col, j) => {
        const at = i * dim + offsets[j]!;
        if (col.kind === "numeric") return formatNumber(data[at]! * col.std + col.mean);
        let best = 0;
        for (let q = 1; q < col.categories.length; q++) if (data[at + q]! > data[at + best]!) best = q;
        return col.categories[best]!;
      }),
    );
  }
  return rows;
}

/** Checks a value read from a model folder is a TableSchema; `where` names it in errors. */
export function checkTableSchema(raw: unknown, where: string): TableSchema {
  const bad = (what: string): never => {
    throw new Error(`${where}: ${what}`);
  };
  if (typeof raw !== "object" || raw === null || !Array.isArray((raw as TableSchema).columns)) {
    return bad(`expected {"columns": [...]}, got ${JSON.stringify(raw)}`);
  }
  (raw as TableSchema).columns.forEach((c, j) => {
    const at = `columns[${j}]`;
    if (typeof c !== "object" || c === null || typeof c.name !== "string") bad(`${at}: expected a name`);
    if (c.kind === "numeric") {
      if (!Number.isFinite(c.mean) || !(c.std > 0)) bad(`${at} (${c.name}): expected finite mean, std > 0`);
    } else if (c.kind === "categorical") {
      if (
        !Array.isArray(c.categories) ||
        c.categories.length < 1 ||
        c.categories.some((s) => typeof s !== "string")
      ) {
        bad(`${at} (${c.name}): expected a non-empty list of category strings`);
      }
    } else
      bad(
        `${at}: kind ${JSON.stringify((c as { kind: unknown }).kind)}, expected "numeric" or "categorical"`,
      );
  });
  return raw as TableSchema;
}
