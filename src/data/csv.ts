/**
 * CSV tables: a header row, then rows of numbers (RFC 4180 quoting accepted). All columns but an
 * optional label column must be numeric; the numeric columns are standardized per column (the
 * statistics are kept in `normalization` to undo it). Errors name the file, line and column.
 */
import { readFileSync } from "node:fs";
import { InputError, InputFileError } from "../io/input-error.js";
import { standardize } from "./normalize.js";
import { applyLimit, type VectorDataset } from "./types.js";

/** A malformed CSV table (an `InputError`; the file is in `file`, the line in `entry`). */
export class CsvError extends InputError {
  override name = "CsvError";
}

/** Class ids of an integer label column must fit an int32 (and a class-embedding table). */
const MAX_INTEGER_LABEL = 2 ** 31 - 2;

export interface CsvRecord {
  /** 1-based line number of the record's first line in the file. */
  readonly line: number;
  readonly fields: string[];
}

/** Splits CSV text into records (RFC 4180: quoted fields may hold commas, "" and newlines). */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0]!.trim() === "")) records.push({ line: start, fields });
    fields = [];
    field = "";
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === "\n") line++;
        field += ch;
      }
    } else if (ch === '"' && field.trim() === "") {
      quoted = true;
      field = "";
    } else if (ch === ",") {
      fields.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      start = line;
    } else field += ch;
  }
  if (field !== "" || fields.length > 0) endRecord();
  return records;
}

/** Parses a numeric field strictly (no empty strings, no trailing junk). NaN when it is not a number. */
export function parseNumber(s: string): number {
  const t = s.trim();
  return t === "" ? Number.NaN : Number(t);
}

export interface CsvOptions {
  /** Name of the label column (class ids if all are integers >= 0, else sorted distinct strings). */
  label?: string;
  limit?: number;
}

function labelsFrom(values: string[], file: string): { labels: Int32Array; classNames?: string[] } {
  if (values.every((v) => /^\s*\d+\s*$/.test(v))) {
    const ids = values.map(Number);
    const big = ids.findIndex((y) => y > MAX_INTEGER_LABEL);
    if (big >= 0) {
      throw new CsvError(
        `label ${JSON.stringify(values[big])} (data row ${big + 1}) is too large; integer class ids must be at most ${MAX_INTEGER_LABEL}`,
        { file, field: "label" },
      );
    }
    return { labels: Int32Array.from(ids) };
  }
  const classNames = [...new Set(values)].sort();
  const id = new Map(classNames.map((c, i) => [c, i]));
  return { labels: Int32Array.from(values, (v) => id.get(v)!), classNames };
}

/** Builds a table dataset from CSV text; `file` names the source in errors. */
export function csvTable(text: string, file: string, opts: CsvOptions = {}): VectorDataset {
  const [header, ...all] = parseCsv(text);
  const fail = (message: string, entry?: string): never => {
    throw new CsvError(message, { file, ...(entry === undefined ? {} : { entry }) });
  };
  if (!header) return fail("empty CSV, expected a header row");
  const names = header.fields.map((f) => f.trim());
  const labelCol = opts.label === undefined ? -1 : names.indexOf(opts.label);
  if (opts.label !== undefined && labelCol < 0) {
    throw new CsvError(
      `label: column ${JSON.stringify(opts.label)} not in ${file}'s header [${names.join(", ")}]`,
      { file, named: true, field: "label" },
    );
  }
  const rows = all.slice(0, applyLimit(opts.limit, all.length));
  if (rows.length === 0) fail("no data rows after the header");
  const cols = names.map((_, j) => j).filter((j) => j !== labelCol);
  const dim = cols.length;
  if (dim === 0) fail("no numeric columns besides the label column");
  const data = new Float32Array(rows.length * dim);
  const labelValues: string[] = [];
  rows.forEach(({ line, fields }, i) => {
    if (fields.length !== names.length) {
      fail(`${fields.length} fields, expected ${names.length} as in the header`, `line ${line}`);
    }
    cols.forEach((j, k) => {
      const v = parseNumber(fields[j]!);
      if (!Number.isFinite(v)) {
        fail(
          `expected a number, got ${JSON.stringify(fields[j])}`,
          `line ${line}, column ${j + 1} (${JSON.stringify(names[j])})`,
        );
      }
      data[i * dim + k] = v;
    });
    if (labelCol >= 0) labelValues.push(fields[labelCol]!.trim());
  });
  const normalization = standardize(data, dim);
  const base: VectorDataset = {
    name: `csv:${file}`,
    kind: "table",
    data,
    dim,
    columns: cols.map((j) => names[j]!),
    normalization,
  };
  if (labelCol < 0) return base;
  const { labels, classNames } = labelsFrom(labelValues, file);
  const numClasses = classNames ? classNames.length : labels.reduce((m, y) => Math.max(m, y), 0) + 1;
  return { ...base, labels, numClasses, ...(classNames ? { classNames } : {}) };
}

/** Loads a CSV file as a standardized table. */
export function loadCsv(path: string, opts: CsvOptions = {}): VectorDataset {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new InputFileError(path, `csv: cannot read ${path}: ${(e as Error).message}`, {
      named: true,
      cause: e,
    });
  }
  return csvTable(text, path, opts);
}
