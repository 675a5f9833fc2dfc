/**
 * The "Joint diffusion" table of the README (issue 11): imputation of hidden cells of a real table
 * (vega-datasets' penguins: 3 categorical, 4 numeric columns) by a joint diffusion model, against
 * mean/mode and k-nearest-neighbour imputation.
 *
 *   npx tsx scripts/joint-table.ts prepare --out DIR [--seed S] [--test N] [--hide P] [--repeats R]
 *     writes DIR/train.csv (complete rows for training), DIR/test.csv (N held-out complete rows, each
 *     repeated R times), DIR/test-masked.csv (the same rows, each copy with its own random fraction P
 *     of the cells emptied: R independent maskings of the held-out rows, for less noisy scores)
 *   npx diffuse train --dataset table:DIR/train.csv ...     (see the README)
 *   npx diffuse impute --model RUN --csv DIR/test-masked.csv --out DIR/imputed.csv
 *   npx tsx scripts/joint-table.ts score --data DIR --imputed FILE[,FILE...] [--k 5]
 *     prints RMSE (numeric cells, standardised units of the training data) and accuracy (categorical
 *     cells) of mean/mode, kNN and each imputed file on the hidden cells
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { formatCsv, readCsvCells, tableDataset } from "../src/data/table.js";
import { encodeRows } from "../src/data/table-schema.js";
import { imputeKnn, imputeMeanMode, scoreImputation } from "../src/eval/impute-baselines.js";
import { makeKey, permutation, uniform } from "../src/random/index.js";

const PENGUINS = "node_modules/vega-datasets/data/penguins.json";

function writeCsv(file: string, names: readonly string[], rows: readonly (readonly string[])[]): void {
  writeFileSync(file, formatCsv(names, rows));
}

function prepare(out: string, seed: number, nTest: number, hide: number, repeats: number): void {
  const records = JSON.parse(readFileSync(PENGUINS, "utf8")) as Record<string, unknown>[];
  const names = Object.keys(records[0]!);
  const complete = records
    .filter((r) => names.every((k) => r[k] !== null && r[k] !== undefined && r[k] !== "."))
    .map((r) => names.map((k) => String(r[k])));
  const order = permutation(makeKey(seed), complete.length);
  const held = Array.from(order.slice(0, nTest), (i) => complete[i]!);
  const test = Array.from({ length: repeats }, () => held).flat();
  const train = Array.from(order.slice(nTest), (i) => complete[i]!);
  const u = uniform(makeKey(seed + 1), test.length * names.length);
  const masked = test.map((row, i) => row.map((c, j) => (u[i * names.length + j]! < hide ? "" : c)));
  writeCsv(path.join(out, "train.csv"), names, train);
  writeCsv(path.join(out, "test.csv"), names, test);
  writeCsv(path.join(out, "test-masked.csv"), names, masked);
  const hidden = masked.flat().filter((c) => c === "").length;
  console.log(
    `${PENGUINS}: ${complete.length} complete rows -> ${train.length} train, ${held.length} test (x${repeats} maskings); ${hidden} of ${test.length * names.length} test cells hidden`,
  );
}

function score(dir: string, imputed: string[], k: number): void {
  const train = tableDataset(readCsvCells(path.join(dir, "train.csv")));
  const schema = train.table!;
  const truthCells = readCsvCells(path.join(dir, "test.csv"));
  const maskedCells = readCsvCells(path.join(dir, "test-masked.csv"));
  const truth = encodeRows(schema, truthCells.rows, { requireComplete: true });
  const masked = encodeRows(schema, maskedCells.rows);
  const rows: [string, Float32Array][] = [
    ["mean/mode", imputeMeanMode(schema, train.data, masked)],
    [`kNN (k=${k})`, imputeKnn(schema, train.data, masked, k)],
    ...imputed.map((f): [string, Float32Array] => {
      const cells = readCsvCells(f);
      for (let i = 0; i < cells.rows.length; i++) {
        for (let j = 0; j < cells.names.length; j++) {
          const given = maskedCells.rows[i]![j]!;
          if (given !== "" && given !== cells.rows[i]![j]) {
            throw new Error(
              `${f} line ${cells.lines[i]}: present cell ${j + 1} changed from ${given} to ${cells.rows[i]![j]}`,
            );
          }
        }
      }
      return [path.basename(f), encodeRows(schema, cells.rows, { requireComplete: true }).data];
    }),
  ];
  const base = scoreImputation(schema, truth.data, rows[0]![1], masked.known);
  console.log(
    `hidden cells: ${base.numericCells} numeric, ${base.categoricalCells} categorical (${truthCells.rows.length} rows of held-out rows with their maskings)`,
  );
  console.log("| method | RMSE (numeric, standardised) | vs mean | accuracy (categorical) | vs mode |");
  console.log("|---|---|---|---|---|");
  for (const [name, filled] of rows) {
    const s = scoreImputation(schema, truth.data, filled, masked.known);
    const dr = (1 - s.rmse / base.rmse) * 100;
    const da = (1 - (1 - s.accuracy) / (1 - base.accuracy)) * 100;
    console.log(
      `| ${name} | ${s.rmse.toFixed(3)} | ${dr >= 0 ? "-" : "+"}${Math.abs(dr).toFixed(0)}% | ${s.accuracy.toFixed(3)} | errors ${da >= 0 ? "-" : "+"}${Math.abs(da).toFixed(0)}% |`,
    );
  }
}

const [cmd, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    out: { type: "string" },
    data: { type: "string" },
    imputed: { type: "string" },
    seed: { type: "string", default: "0" },
    test: { type: "string", default: "83" },
    hide: { type: "string", default: "0.2" },
    repeats: { type: "string", default: "5" },
    k: { type: "string", default: "5" },
  },
});
if (cmd === "prepare" && values.out)
  prepare(values.out, Number(values.seed), Number(values.test), Number(values.hide), Number(values.repeats));
else if (cmd === "score" && values.data)
  score(values.data, values.imputed ? values.imputed.split(",") : [], Number(values.k));
else {
  console.error("usage: joint-table.ts prepare --out DIR | score --data DIR --imputed FILE[,FILE...]");
  process.exit(2);
}
