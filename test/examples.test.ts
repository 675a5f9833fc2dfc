/**
 * The scripts of examples/ run at small sizes (they are type-checked with the rest by `npm run
 * typecheck`: tsconfig.json includes examples/). Each runs with tsx in a temporary folder; "diffuse"
 * resolves to this package's sources through its exports map ("diffuse-source" condition).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runTraining } from "../src/index.js"; // the Node entry: registers ONNX Runtime
import { decodePng } from "../src/io/png.js";

const repo = process.cwd();
const work = mkdtempSync(path.join(tmpdir(), "diffuse-examples-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function example(name: string, args: string[]): string {
  const tsx = path.join(repo, "node_modules", "tsx", "dist", "cli.mjs");
  try {
    return execFileSync(
      process.execPath,
      [tsx, "--conditions=diffuse-source", path.join(repo, "examples", name), ...args],
      { cwd: work, encoding: "utf8", stdio: "pipe" },
    );
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`examples/${name} ${args.join(" ")} failed:\n${err.stderr ?? ""}\n${err.stdout ?? ""}`);
  }
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1)!);

describe("examples/", () => {
  it("every script is covered here", () => {
    const scripts = readdirSync(path.join(repo, "examples")).filter((f) => f.endsWith(".ts"));
    expect(scripts.sort()).toEqual(["compare-samplers.ts", "sample-folder.ts", "train-points.ts"]);
  });

  it("train-points: the loss falls and each class's samples sit near its centre", () => {
    const r = lastJson(example("train-points.ts", ["150", "points.png"]));
    expect(r.lastLoss).toBeLessThan(r.firstLoss);
    expect(r.class0[0]).toBeLessThan(0); // class 0 around x = -1
    expect(r.class1[0]).toBeGreaterThan(0); // class 1 around x = +1
    expect(decodePng(readFileSync(path.join(work, "points.png"))).width).toBe(512);
  });

  it("sample-folder: samples a trained folder with guidance into a PNG", async () => {
    const model = path.join(work, "moons");
    await runTraining(
      {
        dataset: "moons",
        limit: 200,
        classConditional: true,
        steps: 10,
        batchSize: 32,
        numSamples: 16,
        out: model,
      },
      { overwrite: true, progress: { write: () => {} } },
    );
    const r = lastJson(example("sample-folder.ts", [model, "s.png", "2", "ddim", "4"]));
    expect(r).toMatchObject({ out: "s.png", shape: [64, 2], classes: 2 });
    expect(decodePng(readFileSync(path.join(work, "s.png"))).channels).toBe(3);
  });

  // heun checks that every scheduler runs on the model's schedule: on its class's own default betas
  // (0.00085..0.012, not the model's 0.0001..0.02) it landed at mean 2.48.
  it("compare-samplers: the deterministic higher-order solvers land near N(3, 0.5^2)", () => {
    const out = example("compare-samplers.ts", ["20", "2000"]);
    expect(out).toMatch(/target: mean 3, std 0.5; 20 steps, 2000 samples/);
    const rows = lastJson(out) as { sampler: string; mean: string; std: string }[];
    expect(rows.length).toBeGreaterThan(5);
    for (const name of ["dpmsolver++", "unipc", "lms", "heun"]) {
      const row = rows.find((r) => r.sampler === name)!;
      expect(Math.abs(Number(row.mean) - 3), `${name} mean`).toBeLessThan(0.1);
      expect(Math.abs(Number(row.std) - 0.5), `${name} std`).toBeLessThan(0.05);
    }
  });
});
