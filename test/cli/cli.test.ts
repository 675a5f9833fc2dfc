/**
 * The command line in-process (main(argv) -> exit code, with stdout/stderr captured), plus one run of
 * the real entry point in a child process.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { trainSettings } from "../../src/cli/train.js";
import { readSafetensorsFile } from "../../src/io/files.js";
import { decodePng } from "../../src/io/png.js";
import { SAMPLER_NAMES, samplerFamily } from "../../src/pipelines/samplers.js";
import { captureStdio } from "./capture.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const root = mkdtempSync(path.join(tmpdir(), "diffuse-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const { out, err } = captureStdio();
const stderr = () => err.join("");

describe("usage errors exit with 2 and a named error, without a stack trace", () => {
  const cases: [string[], RegExp][] = [
    [["train", "--steps", "abc"], /UsageError: --steps: expected a positive integer, got "abc"/],
    [["train", "--stepz", "3"], /UsageError: unknown flag --stepz; did you mean "--steps"\?/],
    [["train", "--steps", "-5"], /UsageError: --steps: expected a positive integer, got "-5"/],
    [["train", "--loss", "l3"], /UsageError: --loss: expected one of l2, l1, huber, torch-huber, got "l3"/],
    [["train", "--model", "{oops"], /UsageError: --model: expected a JSON object/],
    [["train", "extra"], /UsageError: unexpected argument "extra"/],
    [["sample"], /UsageError: --model: required/],
    [["sample", "--model", "m", "--out", "x.jpg"], /UsageError: --out: "x.jpg" must end in .png/],
    [["info"], /UsageError: --model: required/],
    [["fly"], /UsageError: unknown command "fly"/],
  ];
  for (const [argv, message] of cases) {
    it(argv.join(" "), async () => {
      expect(await main(argv)).toBe(2);
      expect(stderr()).toMatch(message);
      expect(stderr()).not.toMatch(/\n\s+at /);
    });
  }

  it("a bad --config file names the file and the field", async () => {
    const file = path.join(root, "bad.json");
    writeFileSync(file, JSON.stringify({ dataset: "moons", batchSize: -1 }));
    expect(await main(["train", "--config", file])).toBe(2);
    expect(stderr()).toMatch(/config file .*bad\.json: field "batchSize" is -1; expected a positive integer/);
  });
});

describe("--model JSON is typed by the user: unknown keys fail", () => {
  it("a misspelled MLP field names the right one", async () => {
    const argv = [
      "train",
      "--dataset",
      "moons",
      "--limit",
      "64",
      "--steps",
      "1",
      "--model",
      '{"hiden_size":8}',
    ];
    expect(await main([...argv, "--out", path.join(root, "typo")])).not.toBe(0);
    expect(stderr()).toMatch(
      /MLPDenoiser config: unknown field "hiden_size" \(did you mean "hidden_size"\?\)/,
    );
  });
});

describe("bad files exit with 1 and a named error", () => {
  it("a missing model folder", async () => {
    expect(await main(["info", "--model", path.join(root, "nope")])).toBe(1);
    expect(stderr()).toMatch(/Error: model folder .*nope does not exist/);
  });

  it("a config file that is not JSON", async () => {
    const file = path.join(root, "broken.json");
    writeFileSync(file, "{ not json");
    expect(await main(["train", "--config", file])).toBe(1);
    expect(stderr()).toMatch(/config file .*broken\.json is not valid JSON/);
  });
});

describe("--help", () => {
  for (const command of [
    "train",
    "sample",
    "info",
    "eval",
    "export",
    "impute",
    "inpaint",
    "invert",
    "edit",
    "interpolate",
  ]) {
    it(`diffuse ${command} --help lists the flags`, async () => {
      expect(await main([command, "--help"])).toBe(0);
      expect(out.join("")).toMatch(new RegExp(`usage: diffuse ${command}`));
      expect(out.join("")).toContain("--help");
    });
  }
  it("without a dataset, train settings are the built-in MNIST run", async () => {
    const { partial } = await trainSettings({ threads: 2 });
    expect(partial).toMatchObject({ dataset: "mnist", out: "runs/mnist", threads: 2 });
    const own = await trainSettings({ dataset: "moons" });
    expect(own.partial.steps).toBeUndefined();
  });
});

describe("train, sample, info on a tiny 2-D model", () => {
  const model = path.join(root, "moons");
  it("trains a class-conditional MLP from flags", async () => {
    const argv = ["train", "--dataset", "moons", "--limit", "400", "--class-conditional", "--steps", "20"];
    argv.push("--batch-size", "32", "--out", model, "--num-samples", "64", "--sampler", "ddim");
    argv.push("--sampler-steps", "5", "--threads", "1");
    expect(await main(argv), stderr()).toBe(0);
    expect(JSON.parse(out.join(""))).toMatchObject({ out: model, step: 20 });
    expect(stderr()).toMatch(/step 20\/20/);
    expect(decodePng(readFileSync(path.join(model, "samples.png"))).width).toBe(512);
  });

  it("--minutes times 30 steps, then trains the steps that fill the budget", async () => {
    const dir = path.join(root, "budget");
    const argv = ["train", "--dataset", "moons", "--limit", "400", "--batch-size", "32", "--out", dir];
    argv.push("--num-samples", "16", "--sampler", "ddim", "--sampler-steps", "2", "--threads", "1");
    expect(await main([...argv, "--minutes", "0.02"]), stderr()).toBe(0);
    const m = stderr().match(/training (\d+) steps \(([0-9.]+) s\/step\) for about 0.02 min/);
    expect(m, stderr()).not.toBeNull();
    const steps = Number(m![1]);
    // At least 10 steps; the rate is printed (the count depends on this machine's speed).
    expect(steps).toBeGreaterThanOrEqual(10);
    expect(Number(m![2])).toBeGreaterThan(0);
    expect(JSON.parse(out.join(""))).toMatchObject({ out: dir, step: steps });
    // The run is one of that many steps: the timing run's log lines are gone.
    const log = readFileSync(path.join(dir, "log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(Math.max(...log.map((r) => r.step ?? 0))).toBe(steps);
    expect(log.filter((r) => r.step === 10 && r.loss !== undefined)).toHaveLength(1);
    out.length = 0;
    expect(await main([...argv, "--minutes", "1", "--steps", "5"])).toBe(2);
    expect(stderr()).toMatch(/--minutes sets the steps of a fresh run: not with --steps or --resume/);
  });

  it("samples [N, D] points with their labels", async () => {
    const file = path.join(root, "pts.safetensors");
    const argv = ["sample", "--model", model, "--num-samples", "6", "--class-labels", "1,0", "--out", file];
    expect(await main([...argv, "--steps", "4", "--seed", "3"]), stderr()).toBe(0);
    const { tensors } = await readSafetensorsFile(file);
    expect(tensors.get("samples")!.shape).toEqual([6, 2]);
    expect(Array.from(tensors.get("labels")!.data as Int32Array)).toEqual([1, 0, 1, 0, 1, 0]);
  });

  it("samples with every sampler of its kind, and refuses the flow-matching and consistency ones", async () => {
    for (const sampler of SAMPLER_NAMES) {
      const file = path.join(root, `${sampler}.safetensors`);
      if (samplerFamily(sampler) !== "diffusion") {
        const argv = ["sample", "--model", model, "--sampler", sampler, "--out", file];
        expect(await main(argv), sampler).toBe(1);
        expect(stderr()).toContain(`sampler ${sampler}: samples`);
        expect(stderr()).toContain("this model was trained as a diffusion model");
        continue;
      }
      // pc's Langevin corrector needs steps > beta_max = 20 on the linear schedule.
      const steps = sampler === "pc" ? "25" : "4";
      const argv = ["sample", "--model", model, "--sampler", sampler, "--steps", steps, "--out", file];
      out.length = 0;
      expect(await main(argv), `${sampler}: ${stderr()}`).toBe(0);
      expect(JSON.parse(out.join("")).sampler).toBe(sampler);
      const samples = (await readSafetensorsFile(file)).tensors.get("samples")!;
      expect(samples.shape, sampler).toEqual([2, 2]);
      expect(Array.from(samples.data as Float32Array).every(Number.isFinite), sampler).toBe(true);
    }
  });

  it("takes sampler settings and diffusers class names; the ODE reports its NFE", async () => {
    const file = path.join(root, "flags.safetensors");
    const run = async (...flags: string[]) => {
      out.length = 0;
      const argv = ["sample", "--model", model, "--num-samples", "2", "--out", file, "--seed", "1"];
      expect(await main([...argv, ...flags]), stderr()).toBe(0);
      const data = Array.from((await readSafetensorsFile(file)).tensors.get("samples")!.data as Float32Array);
      return { data, report: JSON.parse(out.join("")) };
    };
    const ddim0 = await run("--sampler", "ddim", "--steps", "4", "--eta", "0");
    expect(stderr()).toMatch(/step 4\/4 \| .* steps\/s \| ETA .* \| sampling/); // the progress line
    const ddim1 = await run("--sampler", "DDIMScheduler", "--steps", "4", "--eta", "1");
    expect(ddim1.report.sampler).toBe("ddim");
    expect(ddim1.data).not.toEqual(ddim0.data);
    const small = await run("--sampler", "ddpm", "--steps", "4");
    const large = await run("--sampler", "ddpm", "--steps", "4", "--variance-type", "fixed_large");
    expect(large.data).not.toEqual(small.data);
    const byClass = await run("--sampler", "DPMSolverMultistepScheduler", "--steps", "4");
    const byName = await run("--sampler", "dpmsolver++", "--steps", "4");
    expect(byClass.data).toEqual(byName.data);
    const ode = await run("--sampler", "pf_ode");
    expect(ode.report).toMatchObject({ sampler: "pf_ode" });
    expect(ode.report.nfe).toBeGreaterThan(6);
  });

  it("rejects sampler settings that belong to another sampler, and names a close sampler", async () => {
    const argv = ["sample", "--model", model, "--out", path.join(root, "x.png")];
    expect(await main([...argv, "--sampler", "euler", "--eta", "1"])).toBe(2);
    expect(stderr()).toMatch(/UsageError: --sampler euler: setting eta applies only to ddim/);
    expect(await main([...argv, "--sampler", "dpmsolver+"])).toBe(2);
    expect(stderr()).toMatch(/did you mean "dpmsolver\+\+"/);
  });

  it("rejects a label outside the model's classes", async () => {
    expect(
      await main(["sample", "--model", model, "--class-labels", "5", "--out", path.join(root, "x.png")]),
    ).toBe(2);
    expect(stderr()).toMatch(/--class-labels: "5" is not a class; expected integers in \[0, 1\]/);
  });

  it("info prints the class, parameter count and config", async () => {
    expect(await main(["info", "--model", model, "--json"])).toBe(0);
    const facts = JSON.parse(out.join(""));
    expect(facts).toMatchObject({
      className: "MLPDenoiser",
      classConditional: true,
      numClasses: 2,
      nullClass: 2,
    });
    expect(facts.parameters).toBeGreaterThan(1000);
    expect(facts.weightsBytes).toBeGreaterThan(facts.parameters * 4);
  });
});

describe("the entry point", () => {
  it("runs as a script and exits 2 on a bad flag", () => {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "train", "--batch-size", "0"],
      {
        cwd: REPO,
        encoding: "utf8",
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/diffuse train: UsageError: --batch-size: expected a positive integer, got "0"/);
  });
});
