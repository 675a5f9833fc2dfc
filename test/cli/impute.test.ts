/**
 * `diffuse impute` end to end on a tiny mixed table: train a joint model with `diffuse train
 * --dataset table:FILE`, fill empty cells, and refuse bad input (columns that differ from the
 * training columns, unparsable cells, a model without a table schema) without writing anything.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { csvCells } from "../../src/data/table.js";
import { encodeRows } from "../../src/data/table-schema.js";
import { imputeEncoded } from "../../src/pipelines/impute.js";
import { loadPipeline } from "../../src/pipelines/pipeline-node.js";
import { makeKey, normal } from "../../src/random/index.js";
import { captureStdio } from "./capture.js";

const root = mkdtempSync(path.join(tmpdir(), "diffuse-impute-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const { out, err } = captureStdio();
const stderr = () => err.join("");

/** Two clusters: x near -2 with kind "a", x near +2 with kind "b"; y = 3 x + noise. */
function table(n: number, seed: number): string[][] {
  const z = normal(makeKey(seed), 2 * n);
  return Array.from({ length: n }, (_, i) => {
    const b = i % 2 === 1;
    const x = (b ? 2 : -2) + 0.3 * z[2 * i]!;
    return [x.toFixed(3), b ? "b" : "a", (3 * x + 0.3 * z[2 * i + 1]!).toFixed(3)];
  });
}
const csv = (names: string[], rows: string[][]) => `${[names, ...rows].map((r) => r.join(",")).join("\n")}\n`;
const NAMES = ["x", "kind", "y"];
const model = path.join(root, "model");

beforeAll(async () => {
  const train = path.join(root, "train.csv");
  writeFileSync(train, csv(NAMES, table(200, 1)));
  const argv = [
    "train",
    "--dataset",
    `table:${train}`,
    "--steps",
    "400",
    "--batch-size",
    "32",
    "--lr",
    "3e-3",
  ];
  argv.push(
    "--out",
    model,
    "--num-samples",
    "16",
    "--sampler-steps",
    "5",
    "--threads",
    "1",
    "--valid-size",
    "0",
  );
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  const code = await main(argv);
  vi.restoreAllMocks();
  expect(code).toBe(0);
}, 120_000);

describe("diffuse impute", () => {
  it("fills the empty cells conditioned on the present ones and keeps the present cells' text", async () => {
    const truth = table(40, 2);
    // Hide the kind of every row and y of every third row; keep x (which decides the kind).
    const masked = truth.map((r, i) => [r[0]!, "", i % 3 === 0 ? "" : r[2]!]);
    // A present cell written unusually must come back as written.
    masked[1]![0] = ` ${masked[1]![0]}0`;
    const input = path.join(root, "masked.csv");
    writeFileSync(
      input,
      csv(
        ["y", "x", "kind"],
        masked.map((r) => [r[2]!, r[0]!, r[1]!]),
      ),
    );
    const file = path.join(root, "filled.csv");
    const argv = [
      "impute",
      "--model",
      model,
      "--csv",
      input,
      "--out",
      file,
      "--steps",
      "50",
      "--threads",
      "1",
    ];
    expect(await main(argv), stderr()).toBe(0);
    expect(JSON.parse(out.join(""))).toEqual({ out: file, rows: 40, rowsFilled: 40, cellsFilled: 40 + 14 });
    const filled = csvCells(readFileSync(file, "utf8"), file);
    expect(filled.names).toEqual(["y", "x", "kind"]);
    let right = 0;
    filled.rows.forEach((r, i) => {
      expect(r[1]).toBe(masked[i]![0]); // x: present, same text
      if (i % 3 !== 0) expect(r[0]).toBe(masked[i]![2]);
      else expect(Number.isFinite(Number(r[0]))).toBe(true);
      expect(["a", "b"]).toContain(r[2]);
      if (r[2] === truth[i]![1]) right++;
    });
    // x decides the kind: conditioning works when (nearly) all kinds are right (chance: 50%).
    expect(right / 40).toBeGreaterThanOrEqual(0.9);
  }, 60_000);

  it("returns the known entries exactly and samples the others (pipeline)", async () => {
    const m = await loadPipeline(model);
    const schema = m.info.table!;
    const rows = encodeRows(schema, [
      ["-2", "", "-6"],
      ["", "b", ""],
    ]);
    const o = { steps: 10 };
    const a = await imputeEncoded(m, schema, rows, { ...o, seed: 1 });
    const b = await imputeEncoded(m, schema, rows, { ...o, seed: 2, draws: 3 });
    const c = await imputeEncoded(m, schema, rows, { ...o, repaint: { jump: 2, resample: 2 } });
    for (const f of [a, b, c]) {
      for (let i = 0; i < f.length; i++) {
        if (rows.known[i] === 1) expect(f[i]).toBe(rows.data[i]);
        else expect(Number.isFinite(f[i]!)).toBe(true);
      }
    }
    expect(Array.from(a)).not.toEqual(Array.from(b));
    await expect(imputeEncoded(m, schema, rows, { ...o, draws: 0 })).rejects.toThrow(
      "draws: expected a positive integer, got 0",
    );
  }, 30_000);

  it("refuses columns that differ from the training columns, naming them; writes nothing", async () => {
    const input = path.join(root, "cols.csv");
    writeFileSync(input, "x,colour,z\n1,a,2\n");
    const file = path.join(root, "never.csv");
    expect(await main(["impute", "--model", model, "--csv", input, "--out", file])).toBe(1);
    expect(stderr()).toContain(
      `${input}: columns differ from the model's training columns (missing "kind", "y"; not in the model: "colour", "z"); ${model} was trained on [x, kind, y]`,
    );
    expect(existsSync(file)).toBe(false);
  });

  it("names the line and column of a cell that does not parse; writes nothing", async () => {
    const file = path.join(root, "never.csv");
    const cases: [string, string][] = [
      ["x,kind,y\n1,a,2\noops,,3\n", 'line 3, column "x": expected a number, got "oops"'],
      ["x,kind,y\n1,c,2\n", 'line 2, column "kind": unknown category "c"; expected one of "a", "b"'],
      ["x,kind,y\n1,a\n", "line 2: 2 fields, expected 3 as in the header"],
    ];
    for (const [text, message] of cases) {
      const input = path.join(root, "bad.csv");
      writeFileSync(input, text);
      err.length = 0;
      expect(await main(["impute", "--model", model, "--csv", input, "--out", file])).toBe(1);
      expect(stderr()).toContain(`${input}`);
      expect(stderr()).toContain(message);
      expect(existsSync(file)).toBe(false);
    }
  });

  it("refuses a model without a table schema, and missing flags", async () => {
    const plain = path.join(root, "plain");
    cpSync(model, plain, { recursive: true });
    const index = path.join(plain, "model_index.json");
    const json = JSON.parse(readFileSync(index, "utf8"));
    delete json._diffuse.table;
    writeFileSync(index, JSON.stringify(json));
    const input = path.join(root, "ok.csv");
    writeFileSync(input, "x,kind,y\n1,,2\n");
    const file = path.join(root, "never.csv");
    expect(await main(["impute", "--model", plain, "--csv", input, "--out", file])).toBe(1);
    expect(stderr()).toMatch(
      /has no table schema \("_diffuse.table"\); impute needs a model trained with --dataset table:FILE/,
    );
    // A schema that does not fit the network's width (a category dropped by hand).
    json._diffuse.table = {
      columns: [
        { name: "x", kind: "numeric", mean: 0, std: 1 },
        { name: "kind", kind: "categorical", categories: ["a"] },
        { name: "y", kind: "numeric", mean: 0, std: 1 },
      ],
    };
    writeFileSync(index, JSON.stringify(json));
    expect(await main(["impute", "--model", plain, "--csv", input, "--out", file])).toBe(1);
    expect(stderr()).toContain(
      "impute: the model's examples have shape [4], but its table schema encodes rows as [3]",
    );
    expect(await main(["impute", "--model", model, "--out", file])).toBe(2);
    expect(stderr()).toMatch(/--csv: required/);
    expect(existsSync(file)).toBe(false);
  });
});
