/**
 * Measured tables kept as rows: a JSON array of row objects in docs/ (the record), and the README's
 * markdown table regenerated from all of them between two HTML-comment markers. Shared by the
 * lever table of `bench:quality --config` (quality-configs.ts, issue 14) and the few-step table of
 * scripts/few-step-table.ts (issue 13).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** The two markers around a generated table in a README. */
export interface TableMarkers {
  begin: string;
  end: string;
}

/** The rows of `file` (none when it does not exist); anything but a JSON array is an error naming it. */
export function readJsonRows<R>(file: string): R[] {
  if (!existsSync(file)) return [];
  const rows = JSON.parse(readFileSync(file, "utf8")) as unknown;
  if (!Array.isArray(rows)) throw new Error(`${file}: expected a JSON array of rows`);
  return rows as R[];
}

/** `text` with the lines between the markers replaced by `table`; null when a marker is missing. */
export function replaceBetweenMarkers(text: string, markers: TableMarkers, table: string): string | null {
  const a = text.indexOf(markers.begin);
  const b = text.indexOf(markers.end);
  if (a < 0 || b < a) return null;
  return `${text.slice(0, a + markers.begin.length)}\n${table}\n${text.slice(b)}`;
}

/**
 * Writes `rows` (all of them) to `rowsFile` and, when `readme` exists and holds the markers, the
 * table `format(rows)` between them. Returns whether the README table was rewritten.
 */
export function writeRowsAndTable<R>(
  rows: readonly R[],
  rowsFile: string,
  readme: string,
  markers: TableMarkers,
  format: (rows: readonly R[]) => string,
): boolean {
  writeFileSync(rowsFile, `${JSON.stringify(rows, null, 2)}\n`);
  if (!existsSync(readme)) return false;
  const text = replaceBetweenMarkers(readFileSync(readme, "utf8"), markers, format(rows));
  if (text === null) return false;
  writeFileSync(readme, text);
  return true;
}
