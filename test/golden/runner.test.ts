import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "../../src/golden/kinds/loss-weights.js";
import "../../src/golden/kinds/noise-schedules.js";
import { discoverCases } from "../../src/golden/discover.js";
import { type CaseContext, registerKind } from "../../src/golden/registry.js";
import { type RunOptions, type RunSummary, runGolden } from "../../src/golden/run.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/golden", import.meta.url));
const KINDS = ["noise-schedules", "loss-weights"];

async function run(dir: string, options: RunOptions = {}): Promise<{ summary: RunSummary; lines: string[] }> {
  const lines: string[] = [];
  const summary = await runGolden(dir, { ...options, log: (line) => lines.push(line) });
  return { summary, lines };
}

describe("the fixtures' noise-schedules and loss-weights cases", async () => {
  const cases = (await discoverCases(FIXTURES)).filter((c) => KINDS.includes(c.kind));
  let result: { summary: RunSummary; lines: string[] };
  beforeAll(async () => {
    result = await run(FIXTURES, { kinds: KINDS });
  });

  it("are found, for both kinds", () => {
    for (const kind of KINDS) expect(cases.filter((c) => c.kind === kind).length).toBeGreaterThan(0);
  });

  for (const c of cases) {
    it(`${c.id} passes`, () => {
      const line = result.lines.find((l) => l.split(" ")[1] === c.id);
      expect(line).toBe(`PASS ${c.id}`);
    });
  }

  it("ends with the counts", () => {
    const { summary, lines } = result;
    expect(summary.passed + summary.failed).toBe(cases.length);
    expect(summary.skipped).toBe(0);
    expect(lines.at(-1)).toBe(`${summary.passed} passed, ${summary.failed} failed`);
  });
});

describe("runner behaviour on a temporary directory", () => {
  let dir: string;
  let schedules: { cases: Record<string, unknown>[] } & Record<string, unknown>;
  let lossWeights: Record<string, unknown>;

  beforeAll(async () => {
    schedules = JSON.parse(await readFile(path.join(FIXTURES, "schedules.json"), "utf8"));
    lossWeights = JSON.parse(await readFile(path.join(FIXTURES, "loss_weights.json"), "utf8"));
    dir = await mkdtemp(path.join(tmpdir(), "golden-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function freshDir(name: string): Promise<string> {
    const sub = path.join(dir, name);
    await mkdir(sub);
    return sub;
  }

  it("a broken copy of a schedules case FAILs, naming the array and the element", async () => {
    const sub = await freshDir("broken-schedule");
    const good = schedules.cases[0] as Record<string, number[]>;
    const mid = Math.floor(good.betas.length / 2);
    const betas = good.betas.slice();
    betas[mid] *= 1.01;
    const { cases: _, ...shared } = schedules;
    await writeFile(
      path.join(sub, "schedules.json"),
      JSON.stringify({ ...shared, cases: [good, { ...good, betas }] }),
    );
    const { summary, lines } = await run(sub);
    expect(lines[0]).toBe("PASS schedules.json#0");
    expect(lines[1]).toMatch(
      new RegExp(`^FAIL schedules\\.json#1 betas\\[${mid}\\]: got \\S+ want ${betas[mid]}`),
    );
    expect(summary).toMatchObject({ passed: 1, failed: 1, skipped: 0 });
    expect(lines.at(-1)).toBe("1 passed, 1 failed");
  });

  it("a broken loss-weights file FAILs on the array that differs", async () => {
    const sub = await freshDir("broken-weights");
    const snr = (lossWeights.snr as number[]).map((s, t) => (t === 3 ? s * 2 : s));
    await writeFile(path.join(sub, "loss_weights.json"), JSON.stringify({ ...lossWeights, snr }));
    const { summary, lines } = await run(sub);
    expect(lines[0]).toMatch(/^FAIL loss_weights\.json snr\[3\]: /);
    expect(summary.failed).toBe(1);
  });

  it("a file that is not JSON, and a throwing handler, FAIL with the message", async () => {
    const sub = await freshDir("errors");
    registerKind("test-throws", async () => {
      throw new Error("no model here");
    });
    await writeFile(path.join(sub, "a.json"), "{ not json");
    await writeFile(path.join(sub, "b.json"), JSON.stringify({ kind: "test-throws" }));
    const { summary, lines } = await run(sub);
    expect(lines[0]).toMatch(/^FAIL a\.json .*a\.json is not valid JSON/);
    expect(lines[1]).toBe("FAIL b.json threw: no model here");
    expect(summary).toMatchObject({ passed: 0, failed: 2 });
  });

  it("an unknown kind is SKIPped, not failed, and listed in the closing note", async () => {
    const sub = await freshDir("unknown");
    await writeFile(path.join(sub, "x.json"), JSON.stringify({ kind: "no-such-kind", cases: [{}, {}] }));
    await writeFile(path.join(sub, "loss_weights.json"), JSON.stringify(lossWeights));
    const { summary, lines } = await run(sub);
    expect(lines).toEqual([
      "PASS loss_weights.json",
      "SKIP x.json#0 (kind no-such-kind not implemented)",
      "SKIP x.json#1 (kind no-such-kind not implemented)",
      "1 passed, 0 failed",
      "2 skipped (kinds not implemented: no-such-kind)",
    ]);
    expect(summary).toMatchObject({ passed: 1, failed: 0, skipped: 2, unimplementedKinds: ["no-such-kind"] });
  });

  it("model folders (with io.json) are cases named by the folder; other folders are searched", async () => {
    const sub = await freshDir("folders");
    const seen: { data: Record<string, unknown>; ctx: CaseContext }[] = [];
    registerKind("test-folder", async (data, ctx) => {
      seen.push({ data, ctx });
      return { ok: true };
    });
    await mkdir(path.join(sub, "model_a"));
    await writeFile(path.join(sub, "model_a", "io.json"), '{"kind": "test-folder", "x": [NaN]}');
    await writeFile(path.join(sub, "model_a", "config.json"), JSON.stringify({ not: "a case" }));
    await mkdir(path.join(sub, "more", "model_b"), { recursive: true });
    await writeFile(path.join(sub, "more", "model_b", "io.json"), JSON.stringify({ kind: "test-folder" }));
    const { lines } = await run(sub, { mode: "compiled" });
    expect(lines).toEqual(["PASS model_a", "PASS more/model_b", "2 passed, 0 failed"]);
    expect(seen[0].ctx).toEqual({
      dir: path.join(sub, "model_a"),
      file: path.join(sub, "model_a", "io.json"),
      mode: "compiled",
    });
    expect(seen[0].data.x).toEqual([Number.NaN]);
  });

  it("per-case fields are merged over the file's shared fields", async () => {
    const sub = await freshDir("merge");
    const got: Record<string, unknown>[] = [];
    registerKind("test-merge", async (data) => {
      got.push(data);
      return { ok: false };
    });
    const file = {
      kind: "test-merge",
      tolerance: { rtol: 1, atol: 0 },
      cases: [{ a: 1 }, { a: 2, tolerance: { rtol: 0, atol: 0 } }],
    };
    await writeFile(path.join(sub, "m.json"), JSON.stringify(file));
    const { lines } = await run(sub);
    expect(got).toEqual([
      { kind: "test-merge", tolerance: { rtol: 1, atol: 0 }, a: 1 },
      { kind: "test-merge", tolerance: { rtol: 0, atol: 0 }, a: 2 },
    ]);
    expect(lines[0]).toBe("FAIL m.json#0 (handler gave no detail)");
  });

  it("a missing directory throws, naming it", async () => {
    await expect(run(path.join(dir, "nope"))).rejects.toThrow(/golden directory ".*nope" does not exist/);
  });
});
