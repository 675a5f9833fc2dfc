/**
 * The golden forward-process and sampler-trajectory cases through the runner, driven by the files
 * (every case found must pass), plus checks that the sampler handler can fail: a perturbed reference
 * step, a wrong number of noise draws and an unknown scheduler name are reported as FAIL.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import "../../src/golden/kinds/forward-process.js";
import "../../src/golden/kinds/sampler-trajectories.js";
import { discoverCases } from "../../src/golden/discover.js";
import { parsePythonJson } from "../../src/golden/json.js";
import { checkSamplerTrajectory } from "../../src/golden/kinds/sampler-trajectories.js";
import type { CaseContext } from "../../src/golden/registry.js";
import { type RunSummary, runGolden } from "../../src/golden/run.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/golden", import.meta.url));
const KINDS = ["forward-process", "sampler-trajectories"];
const CTX: CaseContext = {
  dir: FIXTURES,
  file: path.join(FIXTURES, "sampler_trajectories.json"),
  mode: "eager",
};

describe("golden forward-process and sampler-trajectories cases", async () => {
  const cases = (await discoverCases(FIXTURES)).filter((c) => KINDS.includes(c.kind));
  const lines: string[] = [];
  let summary: RunSummary;
  beforeAll(async () => {
    summary = await runGolden(FIXTURES, { kinds: KINDS, log: (l) => lines.push(l) });
  });

  it("are found for both kinds", () => {
    for (const kind of KINDS) expect(cases.some((c) => c.kind === kind)).toBe(true);
  });

  for (const c of cases) {
    it(`${c.id} (${String(c.data.scheduler ?? c.kind)}) passes`, () => {
      expect(lines.find((l) => l.split(" ")[1] === c.id)).toBe(`PASS ${c.id}`);
    });
  }

  it("reports the counts", () => {
    expect(summary.passed).toBe(cases.length);
    expect(lines.at(-1)).toBe(`${cases.length} passed, 0 failed`);
  });
});

describe("the sampler-trajectories handler fails when it should", async () => {
  const file = JSON.parse(JSON.stringify(parsePythonJson(await readFile(CTX.file, "utf8")))) as {
    cases: Record<string, unknown>[];
    tolerance: unknown;
  };
  // A stochastic case (it draws noise) and its data merged with the file's tolerance.
  const index = file.cases.findIndex((c) => (c.noise_by_step as unknown[][]).some((d) => d.length > 0));
  const base = (): Record<string, unknown> => ({
    tolerance: file.tolerance,
    ...structuredClone(file.cases[index]),
  });

  it("passes the unmodified case", async () => {
    expect(await checkSamplerTrajectory(base(), CTX)).toEqual({ ok: true });
  });

  it("fails on a perturbed trajectory value, naming the step", async () => {
    const data = base();
    const trajectory = data.trajectory as number[][];
    const last = trajectory.length - 1;
    trajectory[last][0] += 0.5;
    const result = await checkSamplerTrajectory(data, CTX);
    expect(result.ok).toBe(false);
    expect(result.detail).toContain(`trajectory[${last}][0]`);
  });

  it("fails when the recorded draws are fewer than the scheduler's", async () => {
    const data = base();
    const draws = data.noise_by_step as number[][][];
    const step = draws.findIndex((d) => d.length > 0);
    draws[step] = [];
    await expect(checkSamplerTrajectory(data, CTX)).rejects.toThrow(
      `step ${step} drew noise 1 times, the reference 0`,
    );
  });

  it("fails on an unknown scheduler with the known names", async () => {
    const result = await checkSamplerTrajectory({ ...base(), scheduler: "NoSuchScheduler" }, CTX);
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/unknown scheduler "NoSuchScheduler": not one of .*DDIMScheduler/);
  });
});
