import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { loadDataset } from "../../src/data/registry.js";
import { csvCells, loadTable, tableDataset } from "../../src/data/table.js";
import {
  checkTableSchema,
  columnOffsets,
  decodeRows,
  encodeRows,
  inferSchema,
  TableCellError,
} from "../../src/data/table-schema.js";
import { InputError } from "../../src/io/input-error.js";
import { removeTempDirs, tempDir } from "./helpers.js";

afterAll(removeTempDirs);

const TEXT = "size,colour,weight\n1,red,10\n2,blue,20\n3,red,30\n,green,40\n";

describe("table schema", () => {
  it("infers numeric and categorical columns, standardises and one-hot encodes to +-1", () => {
    const cells = csvCells(TEXT, "t.csv");
    const schema = inferSchema(cells.names, cells.rows);
    expect(schema.columns.map((c) => c.kind)).toEqual(["numeric", "categorical", "numeric"]);
    const size = schema.columns[0]!;
    // The empty cell of row 4 is left out of the statistics.
    expect(size.kind === "numeric" && [size.mean, size.std]).toEqual([2, Math.sqrt(2 / 3)]);
    const colour = schema.columns[1]!;
    expect(colour.kind === "categorical" && colour.categories).toEqual(["blue", "green", "red"]);
    expect(columnOffsets(schema)).toEqual({ offsets: [0, 1, 4], dim: 5 });
    const { data, known } = encodeRows(schema, cells.rows);
    expect(Array.from(data.subarray(0, 5)).map((v) => Math.round(v * 1e6) / 1e6)).toEqual([
      Math.round((-1 / Math.sqrt(2 / 3)) * 1e6) / 1e6,
      -1,
      -1,
      1,
      Math.round(((10 - 25) / Math.sqrt(125)) * 1e6) / 1e6,
    ]);
    // Row 4: size missing (known 0), colour and weight known.
    expect(Array.from(known.subarray(15, 20))).toEqual([0, 1, 1, 1, 1]);
  });

  it("decode(encode(row)) gives back every present cell (property)", () => {
    const row = fc.tuple(
      fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((v) => String(Math.fround(v))),
      fc.constantFrom("a", "b", "c d"),
      fc.integer({ min: -1000, max: 1000 }).map(String),
    );
    fc.assert(
      fc.property(fc.array(row, { minLength: 2, maxLength: 20 }), (rows) => {
        const schema = inferSchema(["x", "k", "n"], rows);
        const back = decodeRows(schema, encodeRows(schema, rows).data);
        // float32 model space: numbers come back to ~1e-6 of the column's scale.
        const scale = (j: number) => Math.max(1, ...rows.map((r) => Math.abs(Number(r[j]))));
        back.forEach((r, i) => {
          expect(Math.abs(Number(r[0]) - Number(rows[i]![0]))).toBeLessThanOrEqual(2e-6 * scale(0));
          expect(r[1]).toBe(rows[i]![1]);
          expect(Math.abs(Number(r[2]) - Number(rows[i]![2]))).toBeLessThanOrEqual(2e-6 * scale(2));
        });
      }),
      { numRuns: 50 },
    );
  });

  it("decodes a categorical block by argmax", () => {
    const schema = inferSchema(["k"], [["a"], ["b"], ["c"]]);
    expect(decodeRows(schema, Float32Array.from([0.1, 0.7, -0.3, -1, -2, -0.5]))).toEqual([["b"], ["c"]]);
  });

  it("forces integer-coded columns to be categorical on request", () => {
    const schema = inferSchema(
      ["cyl", "x"],
      [
        ["4", "1"],
        ["6", "2"],
      ],
      ["cyl"],
    );
    expect(schema.columns[0]).toEqual({ name: "cyl", kind: "categorical", categories: ["4", "6"] });
  });

  it("names the row and column of a bad cell", () => {
    const schema = inferSchema(
      ["x", "k"],
      [
        ["1", "a"],
        ["2", "b"],
      ],
    );
    expect(() =>
      encodeRows(schema, [
        ["1", "a"],
        ["oops", "b"],
      ]),
    ).toThrow('row 2, column "x": expected a number, got "oops"');
    expect(() => encodeRows(schema, [["1", "z"]], { lines: [7] })).toThrow(
      'line 7, column "k": unknown category "z"; expected one of "a", "b"',
    );
    expect(() => encodeRows(schema, [["", "a"]], { requireComplete: true })).toThrow(
      'row 1, column "x": empty cell',
    );
    expect(() => inferSchema(["x"], [["1"], ["two"]], [], [2, 3])).toThrow(
      /line 3, column "x": expected a number \(the column's other cells are numbers\), got "two"/,
    );
    const e = (() => {
      try {
        encodeRows(schema, [["q", "a"]]);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(TableCellError);
    expect(e).toBeInstanceOf(InputError);
    expect((e as TableCellError).field).toBe("x");
  });

  it("checks a schema read from a model folder", () => {
    const schema = inferSchema(
      ["x", "k"],
      [
        ["1", "a"],
        ["2", "b"],
      ],
    );
    expect(checkTableSchema(JSON.parse(JSON.stringify(schema)), "m")).toEqual(schema);
    expect(() => checkTableSchema({ columns: [{ name: "x", kind: "date" }] }, "m/model_index.json")).toThrow(
      'm/model_index.json: columns[0]: kind "date", expected "numeric" or "categorical"',
    );
    expect(() =>
      checkTableSchema({ columns: [{ name: "x", kind: "numeric", mean: 0, std: 0 }] }, "m"),
    ).toThrow(/std > 0/);
    expect(() => checkTableSchema([], "m")).toThrow(/expected \{"columns"/);
  });
});

describe("table datasets", () => {
  it("train on the complete rows and keep the schema", () => {
    const ds = tableDataset(csvCells(TEXT, "t.csv"));
    expect(ds.kind).toBe("table");
    expect(ds.dim).toBe(4);
    expect(ds.data.length).toBe(3 * 4);
    expect(ds.columns).toEqual(["size", "colour=blue", "colour=red", "weight"]);
    // "green" appears only in the incomplete row: it is not a category of the training rows.
    const colour = ds.table!.columns[1]!;
    expect(colour.kind === "categorical" && colour.categories).toEqual(["blue", "red"]);
  });

  it("loads table:<path> through the registry, naming the file in errors", () => {
    const dir = tempDir("table-");
    const good = join(dir, "good.csv");
    writeFileSync(good, TEXT);
    const ds = loadDataset(`table:${good}`);
    expect(ds.kind === "table" && ds.dim).toBe(4);
    expect(loadTable(good, { limit: 2 }).data.length).toBe(8);
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "a,b\n1,x\nnope,y\n");
    expect(() => loadTable(bad)).toThrow(`${bad}: line 3, column "a": expected a number`);
    const ragged = join(dir, "ragged.csv");
    writeFileSync(ragged, "a,b\n1,x\n2\n");
    expect(() => loadTable(ragged)).toThrow(`${ragged} line 3: 1 fields, expected 2 as in the header`);
    const holes = join(dir, "holes.csv");
    writeFileSync(holes, "a,b\n1,\n,y\n");
    expect(() => loadTable(holes)).toThrow(/no complete row/);
    const dup = join(dir, "dup.csv");
    writeFileSync(dup, "a,a\n1,2\n");
    expect(() => loadTable(dup)).toThrow(/column "a" appears twice/);
  });
});
