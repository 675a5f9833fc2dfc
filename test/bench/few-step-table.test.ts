/**
 * scripts/few-step-table.ts without training anything: the table's formatting and order, the
 * recording of a (fake) row into the JSON file and the README between the markers (an entry of the
 * same row and steps is replaced, everything else kept), the flags, a row whose prerequisite row has
 * not run, and the shipped training presets' budgets (each under the issue's 30 minutes).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { replaceBetweenMarkers } from "../../bench/table-rows.js";
import {
  budgetMinutes,
  FEW_STEP_ROWS,
  type FewStepEntry,
  formatFewStepTable,
  mergeEntries,
  parseTableCli,
  ROW_NAMES,
  recordEntries,
  runRow,
  TABLE_MARKERS,
  TEACHER_STEP_SECONDS,
} from "../../scripts/few-step-table.js";

const root = mkdtempSync(path.join(tmpdir(), "diffuse-few-step-table-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function entry(over: Partial<FewStepEntry>): FewStepEntry {
  return {
    row: "cd",
    method: "consistency distillation",
    sampler: "consistency",
    steps: 1,
    nfe: 1,
    fid: 106.91,
    kid: 7.3312,
    kidStderr: 0.512,
    precision: 0.4621,
    recall: 0.7759,
    accuracy: 0.578,
    trainingSeconds: 1075.4,
    trainSteps: 1000,
    secondsPerSample: 0.01234,
    samples: 500,
    referenceCount: 2000,
    guidanceScale: 1,
    seed: 0,
    command: "diffuse distill ...",
    load: 2.5,
    date: "2026-12-02T12:00:00.000Z",
    ...over,
  };
}

describe("the table", () => {
  it("formats each entry as one line, rows in the issue's order, then by steps", () => {
    const table = formatFewStepTable([
      entry({ steps: 4, nfe: 4, fid: 83.2 }),
      entry({}),
      entry({
        row: "teacher-dpm20",
        method: "teacher",
        sampler: "dpmsolver++",
        steps: 20,
        nfe: 20,
        fid: 57.23,
        accuracy: null,
        trainingSeconds: null,
      }),
    ]);
    const lines = table.split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^\| row \| method \| sampler \| steps \| NFE \| FID \|/);
    expect(lines[2]).toBe(
      "| teacher-dpm20 | teacher | DPM-Solver++ 2M | 20 | 20 | 57.23 | 7.33 ± 0.51 | 0.462 | 0.776 | - | - | 0.012 | 500 | 1 | - |",
    );
    expect(lines[3]).toBe(
      "| cd | consistency distillation | consistency | 1 | 1 | 106.91 | 7.33 ± 0.51 | 0.462 | 0.776 | 0.578 | 1075 | 0.012 | 500 | 1 | - |",
    );
    expect(lines[4]).toMatch(/^\| cd \| .* \| 4 \| 4 \| 83\.20 \|/);
    const flow = formatFewStepTable([
      entry({ row: "flow", sampler: "flow_euler", straightness: 0.01234, commandSeconds: 1210.4 }),
    ]);
    expect(flow.split("\n")[2]).toMatch(/\| Euler \| 1 \| .* \| 1075 \(1210\) \| .* \| 1 \| 0\.0123 \|$/);
  });

  it("replaces the entries of the same row and steps, keeps the others", () => {
    const old = [entry({ fid: 1 }), entry({ steps: 2, fid: 2 }), entry({ row: "ct", fid: 3 })];
    const merged = mergeEntries(old, [entry({ fid: 9 })]);
    expect(merged.map((e) => [e.row, e.steps, e.fid])).toEqual([
      ["cd", 2, 2],
      ["ct", 1, 3],
      ["cd", 1, 9],
    ]);
  });

  it("records a row into the JSON file and the README between the markers only", () => {
    const rows = path.join(root, "table.json");
    const readme = path.join(root, "README.md");
    const text = `# x\n\nbefore\n${TABLE_MARKERS.begin}\nold table\n${TABLE_MARKERS.end}\nafter\n`;
    writeFileSync(readme, text);
    recordEntries([entry({ row: "ct", method: "consistency training", fid: 120 })], rows, readme);
    recordEntries([entry({}), entry({ steps: 2, nfe: 2 })], rows, readme);
    const saved = JSON.parse(readFileSync(rows, "utf8")) as FewStepEntry[];
    expect(saved.map((e) => `${e.row}:${e.steps}`)).toEqual(["ct:1", "cd:1", "cd:2"]);
    const after = readFileSync(readme, "utf8");
    expect(after).toBe(
      `# x\n\nbefore\n${TABLE_MARKERS.begin}\n${formatFewStepTable(saved)}\n${TABLE_MARKERS.end}\nafter\n`,
    );
    // Again with one entry changed: it replaces the old one (no duplicate line).
    recordEntries([entry({ fid: 99.5 })], rows, readme);
    const table = readFileSync(readme, "utf8");
    expect(table.match(/\| cd \| consistency distillation \| consistency \| 1 \|/g)).toHaveLength(1);
    expect(table).toContain("| 99.50 |");
    // A README without the markers is left as it is.
    writeFileSync(readme, "no markers\n");
    recordEntries([entry({})], rows, readme);
    expect(readFileSync(readme, "utf8")).toBe("no markers\n");
    expect(replaceBetweenMarkers("x", TABLE_MARKERS, "t")).toBeNull();
  });
});

describe("flags and prerequisites", () => {
  it("parses a row and refuses unknown rows and bad numbers, naming the flag", () => {
    const o = parseTableCli([
      "--row",
      "cd",
      "--teacher",
      "runs/mnist",
      "--num-samples",
      "50",
      "--threads",
      "1",
    ]);
    expect(o).toMatchObject({ row: "cd", teacher: "runs/mnist", numSamples: 50, threads: 1, refCount: 2000 });
    expect(() => parseTableCli(["--row", "dd", "--teacher", "t"])).toThrow(
      /--row: "dd"; expected one of teacher-ddpm1000/,
    );
    expect(() => parseTableCli(["--row", "cd"])).toThrow(/--teacher: required/);
    expect(() => parseTableCli(["--row", "cd", "--teacher", "t", "--ref-count", "0"])).toThrow(
      /--ref-count: expected an integer >= 1, got "0"/,
    );
  });

  it("a row that needs another row's model says which row to run first", async () => {
    const o = parseTableCli(["--row", "reflow-stage2", "--teacher", "t", "--work", path.join(root, "w")]);
    await expect(runRow(o)).rejects.toThrow(
      /--row reflow-stage2: needs the model of row reflow .*; run --row reflow first/,
    );
  });
});

describe("the shipped presets", () => {
  it("train each model in under 30 minutes of a quiet 2-core machine (the issue's budget)", () => {
    const minutes = Object.fromEntries(
      ROW_NAMES.filter((r) => FEW_STEP_ROWS[r].budget).map((r) => [
        r,
        budgetMinutes(FEW_STEP_ROWS[r].budget!),
      ]),
    );
    expect(Object.keys(minutes)).toEqual(["flow", "reflow", "reflow-stage2", "cd", "ct"]);
    for (const m of Object.values(minutes)) expect(m).toBeLessThan(30);
    // Every command trains the steps its budget counts.
    const c = { teacher: "T", work: "W", threads: 0 };
    for (const r of ROW_NAMES) {
      const p = FEW_STEP_ROWS[r];
      if (!p.train) continue;
      const argv = p.train(c, "OUT");
      expect(argv[argv.indexOf("--steps") + 1]).toBe(String(p.budget!.steps));
      expect(argv.slice(argv.indexOf("--out"), argv.indexOf("--out") + 2)).toEqual(["--out", "OUT"]);
    }
    // The unit: one training step of the default run is 3 forward-pass equivalents.
    expect(budgetMinutes({ steps: 60, forwards: 3 })).toBeCloseTo(TEACHER_STEP_SECONDS, 10);
  });
});
