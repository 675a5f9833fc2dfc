/**
 * Mixed tables for joint diffusion (`table:<path>` datasets): a CSV whose columns may be numeric or
 * categorical, encoded into one vector per row by a `TableSchema` (table-schema.ts) that the model
 * folder keeps. Training uses the complete rows only (a row with an empty cell is left out; the
 * count is in the dataset name); `diffuse impute` fills such cells with a trained model.
 */
import { readFileSync } from "node:fs";
import { attachFile, InputFileError } from "../io/input-error.js";
import { CsvError, parseCsv } from "./csv.js";
import { encodeRows, inferSchema, isMissing, type TableSchema } from "./table-schema.js";
import { applyLimit, type VectorDataset } from "./types.js";

/** A CSV file as header + string cells, with the file line of each data row (for errors). */
export interface CsvCells {
  readonly file: string;
  readonly names: string[];
  readonly rows: string[][];
  readonly lines: number[];
}

/** Reads a CSV file into cells; every row must have the header's number of fields. */
export function readCsvCells(file: string): CsvCells {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new InputFileError(file, `csv: cannot read ${file}: ${(e as Error).message}`, {
      named: true,
      cause: e,
    });
  }
  return csvCells(text, file);
}

/** CSV text -> cells (`file` names the source in errors). */
export function csvCells(text: string, file: string): CsvCells {
  const [header, ...records] = parseCsv(text);
  if (!header) throw new CsvError("empty CSV, expected a header row", { file });
  const names = header.fields.map((f) => f.trim());
  const dup = names.find((n, j) => names.indexOf(n) !== j);
  if (dup !== undefined)
    throw new CsvError(`column ${JSON.stringify(dup)} appears twice in the header`, { file });
  for (const { line, fields } of records) {
    if (fields.length !== names.length) {
      throw new CsvError(`${fields.length} fields, expected ${names.length} as in the header`, {
        file,
        entry: `line ${line}`,
      });
    }
  }
  if (records.length === 0) throw new CsvError("no data rows after the header", { file });
  return { file, names, rows: records.map((r) => r.fields), lines: records.map((r) => r.line) };
}

export interface TableOptions {
  limit?: number;
  /** Columns to treat as categorical even where their cells are numbers (integer class codes). */
  categorical?: readonly string[];
}

/** Complete rows of `cells` (no empty cell), with their lines. */
function completeRows(cells: CsvCells): { rows: string[][]; lines: number[] } {
  const keep = cells.rows.map((r) => r.every((c) => !isMissing(c)));
  return {
    rows: cells.rows.filter((_, i) => keep[i]),
    lines: cells.lines.filter((_, i) => keep[i]),
  };
}

/** The encoded dataset of a table's complete rows, with its schema in `table`. */
export function tableDataset(cells: CsvCells, opts: TableOptions = {}): VectorDataset {
  const { file } = cells;
  const all = completeRows(cells);
  if (all.rows.length === 0) {
    throw new CsvError("no complete row (every row has an empty cell); training needs complete rows", {
      file,
    });
  }
  const n = applyLimit(opts.limit, all.rows.length);
  const rows = all.rows.slice(0, n);
  const lines = all.lines.slice(0, n);
  try {
    const schema = inferSchema(cells.names, rows, opts.categorical ?? [], lines);
    const { data, dim } = encodeRows(schema, rows, { requireComplete: true, lines });
    const columns = schema.columns.flatMap((c) =>
      c.kind === "numeric" ? [c.name] : c.categories.map((k) => `${c.name}=${k}`),
    );
    return {
      name: `table:${file}`,
      kind: "table",
      data,
      dim,
      columns,
      // The model-space data are already standardised / one-hot: the schema decodes them.
      normalization: { mean: new Array<number>(dim).fill(0), std: new Array<number>(dim).fill(1) },
      table: schema,
    };
  } catch (e) {
    throw attachFile(e, file);
  }
}

/** Loads a CSV file as a mixed table (numeric and categorical columns). */
export function loadTable(file: string, opts: TableOptions = {}): VectorDataset {
  return tableDataset(readCsvCells(file), opts);
}

export type { TableSchema };

/** One CSV record (RFC 4180 quoting where a field holds a comma, quote or newline). */
function csvRecord(cells: readonly string[]): string {
  return cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(",");
}

/** CSV text of a header and rows. */
export function formatCsv(names: readonly string[], rows: readonly (readonly string[])[]): string {
  return `${[names, ...rows].map(csvRecord).join("\n")}\n`;
}
