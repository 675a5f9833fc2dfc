import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { csvTable, loadCsv, parseCsv } from "../../src/data/csv.js";
import { unnormalize } from "../../src/data/normalize.js";
import { expectValidDataset, removeTempDirs, tempDir } from "./helpers.js";

afterAll(removeTempDirs);

describe("parseCsv", () => {
  it("handles quotes, escaped quotes, CRLF, embedded newlines and blank lines, keeping line numbers", () => {
    const recs = parseCsv('a,"b,c"\r\n1,"say ""hi"""\n\n"x\ny",2\n3,4');
    expect(recs.map((r) => r.fields)).toEqual([
      ["a", "b,c"],
      ["1", 'say "hi"'],
      ["x\ny", "2"],
      ["3", "4"],
    ]);
    expect(recs.map((r) => r.line)).toEqual([1, 2, 4, 6]);
  });
});

describe("csvTable", () => {
  const text = "x, y ,kind\n1,10,cat\n2,20,dog\n3,30,cat\n4,40,cat\n";

  it("standardizes numeric columns and keeps the statistics to undo it", () => {
    const ds = csvTable(text, "t.csv", { label: "kind" });
    expect(ds.kind).toBe("table");
    expect(ds.dim).toBe(2);
    expect(ds.columns).toEqual(["x", "y"]);
    expectValidDataset(ds, 4);
    expect(ds.normalization.mean).toEqual([2.5, 25]);
    expect(ds.normalization.std[0]).toBeCloseTo(Math.sqrt(1.25), 12);
    for (let j = 0; j < 2; j++) {
      const col = [0, 1, 2, 3].map((i) => ds.data[i * 2 + j]!);
      expect(col.reduce((a, b) => a + b, 0) / 4).toBeCloseTo(0, 6);
      expect(col.reduce((a, b) => a + b * b, 0) / 4).toBeCloseTo(1, 5);
    }
    const back = unnormalize(ds.data, ds.normalization);
    expect(Array.from(back).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([1, 10, 2, 20, 3, 30, 4, 40]);
  });

  it("maps string labels to sorted ids and keeps integer labels as they are", () => {
    const s = csvTable(text, "t.csv", { label: "kind" });
    expect(s.classNames).toEqual(["cat", "dog"]);
    expect(Array.from(s.labels!)).toEqual([0, 1, 0, 0]);
    const n = csvTable("a,y\n0.5,2\n1.5,0\n", "n.csv", { label: "y" });
    expect(Array.from(n.labels!)).toEqual([2, 0]);
    expect(n.numClasses).toBe(3);
    expect(n.classNames).toBeUndefined();
  });

  it("honours limit", () => {
    expect(csvTable(text, "t.csv", { label: "kind", limit: 2 }).data.length).toBe(4);
  });

  it("names the file, line and column of a non-numeric value", () => {
    expect(() => csvTable("a,b\n1,2\n3,oops\n", "bad.csv")).toThrow(
      'bad.csv line 3, column 2 ("b"): expected a number, got "oops"',
    );
    expect(() => csvTable("a,b\n1,\n", "bad.csv")).toThrow(
      /line 2, column 2 \("b"\): expected a number, got ""/,
    );
  });

  it("reports ragged rows, unknown label columns and empty files", () => {
    expect(() => csvTable("a,b\n1,2\n3\n", "r.csv")).toThrow(
      "r.csv line 3: 1 fields, expected 2 as in the header",
    );
    expect(() => csvTable(text, "t.csv", { label: "colour" })).toThrow(
      /label: column "colour" not in t\.csv's header \[x, y, kind\]/,
    );
    expect(() => csvTable("", "e.csv")).toThrow(/e\.csv: empty CSV/);
    expect(() => csvTable("a,b\n", "h.csv")).toThrow(/h\.csv: no data rows/);
  });

  it("loads from a file and reports unreadable paths", () => {
    const dir = tempDir("csv-");
    writeFileSync(join(dir, "t.csv"), text);
    expect(loadCsv(join(dir, "t.csv"), { label: "kind" }).name).toBe(`csv:${join(dir, "t.csv")}`);
    expect(() => loadCsv(join(dir, "missing.csv"))).toThrow(/csv: cannot read .*missing\.csv/);
  });
});
