/**
 * The few-step folders on tiny MNIST U-Nets (2 training steps each: only the plumbing is checked, not
 * quality): a consistency student refuses every sampler but its own, naming the folder and the field;
 * flow folders refuse the diffusion samplers and the reverse; one-step students sample 1 step by
 * default, in `diffuse sample` and `diffuse eval --model` alike (which report what ran); a reflow run
 * never reads the data set; bad teachers (image size, parametrisation) and students that do not match
 * the teacher are refused before anything is written.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parseFlags } from "../../src/cli/args.js";
import { DISTILL_COMMAND, distillSettings } from "../../src/cli/distill.js";
import { main } from "../../src/cli/main.js";
import { loadDataset } from "../../src/data/registry.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { loadPipeline } from "../../src/pipelines/pipeline-node.js";
import { resolveSampler } from "../../src/pipelines/samplers.js";
import * as T from "../../src/tensor/index.js";
import { runTraining } from "../../src/train/run-node.js";
import { captureStdio } from "../cli/capture.js";

vi.mock("../../src/data/registry.js", async (importOriginal) => {
  const m = await importOriginal<typeof import("../../src/data/registry.js")>();
  return { ...m, loadDataset: vi.fn(m.loadDataset) };
});

const root = mkdtempSync(path.join(tmpdir(), "diffuse-fewstep-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(() => T.setDefaultRuntime(nodeOrt));
const io = captureStdio();
const dir = (name: string) => path.join(root, name);

const UNET = JSON.stringify({
  block_out_channels: [8, 8],
  down_block_types: ["DownBlock2D", "DownBlock2D"],
  up_block_types: ["UpBlock2D", "UpBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 4,
});
const SMALL = ["--batch-size", "8", "--checkpoint-every", "0", "--num-samples", "2", "--threads", "1"];
const TRAIN = ["train", "--dataset", "mnist", "--limit", "32", "--steps", "2", "--model", UNET];
const TRAIN_QUIET = ["--valid-every", "0", "--sample-every", "0", ...SMALL];
const EVAL_FAST = [
  "--num-samples",
  "8",
  "--ref-count",
  "100",
  "--memorization",
  "none",
  "--kid-subsets",
  "4",
  "--threads",
  "1",
];

/** Runs a CLI command, failing with its stderr when it does not exit 0. */
async function ok(argv: string[]): Promise<void> {
  const code = await main(argv);
  if (code !== 0) throw new Error(`${argv.join(" ")}: exit ${code}\n${io.err.join("")}`);
}

/** The last JSON line a command printed. */
const lastJson = () => JSON.parse(io.out.join("").trim().split("\n").pop()!);

let reflowLoads = -1;

beforeAll(async () => {
  io.err.length = 0;
  await ok([...TRAIN, ...TRAIN_QUIET, "--out", dir("teacher")]);
  await ok([...TRAIN, ...TRAIN_QUIET, "--objective", "flow", "--out", dir("flow")]);
  const distill = ["distill", "--steps", "2", ...SMALL];
  await ok([
    ...distill,
    "--teacher",
    dir("teacher"),
    "--method",
    "consistency",
    "--num-scales",
    "6",
    "--out",
    dir("cd"),
  ]);
  vi.mocked(loadDataset).mockClear();
  const pairs = ["--pairs", "16", "--pair-steps", "2", "--sampler-steps", "2"];
  await ok([...distill, ...pairs, "--teacher", dir("flow"), "--method", "reflow", "--out", dir("reflow")]);
  await ok([
    ...distill,
    ...pairs,
    "--teacher",
    dir("reflow"),
    "--method",
    "reflow",
    "--stage",
    "2",
    "--out",
    dir("reflow2"),
  ]);
  reflowLoads = vi.mocked(loadDataset).mock.calls.length;
}, 900_000);

describe("samplers a folder cannot use are refused", () => {
  it("a consistency student takes only the consistency sampler, naming the folder and _diffuse.consistency", async () => {
    for (const sampler of ["ddpm", "dpmsolver++", "flow_match_euler"]) {
      io.err.length = 0;
      const code = await main(["sample", "--model", dir("cd"), "--sampler", sampler, "--out", dir("x.png")]);
      expect(code).not.toBe(0);
      const err = io.err.join("");
      expect(err).toContain(`sampler ${sampler}: ${dir("cd")} is a consistency student`);
      expect(err).toContain('"_diffuse.consistency" = {"numScales":6');
      expect(err).toContain("valid samplers: consistency (1 to 5 steps)");
    }
    expect(existsSync(dir("x.png"))).toBe(false);
    // The library refuses a ready scheduler object too (it would read f(x, t) as a noise prediction).
    const pipe = await loadPipeline(dir("cd"));
    await expect(pipe.generate({ sampler: pipe.scheduler("ddim"), numSamples: 2 })).rejects.toThrow(
      /sampler scheduler:DDIMScheduler: .* is a consistency student/,
    );
    expect(() => pipe.invert(T.zeros([1, 1, 28, 28]))).toThrow(/invert: .*cd is a consistency student/);
  });

  it("flow folders refuse diffusion samplers, diffusion folders refuse flow and consistency samplers", async () => {
    for (const [model, sampler, msg] of [
      [
        "flow",
        "ddpm",
        /trained as a flow matching model .*use flow_match_euler, flow_euler, flow_heun, flow_ode/,
      ],
      ["reflow2", "dpmsolver++", /trained as a flow matching model/],
      ["teacher", "flow_match_euler", /trained as a diffusion model/],
      [
        "teacher",
        "consistency",
        /sampler consistency: samples consistency models, but this model was trained as a diffusion model/,
      ],
    ] as const) {
      io.err.length = 0;
      expect(
        await main(["sample", "--model", dir(model), "--sampler", sampler, "--out", dir("y.png")]),
      ).not.toBe(0);
      expect(io.err.join("")).toMatch(msg);
    }
    // diffusers' CMStochasticIterativeScheduler stays available on a folder of its own family.
    const r = resolveSampler("consistency", { _class_name: "CMStochasticIterativeScheduler" });
    expect(r.kind).toBe("scheduler");
  });

  it("--steps beyond the student's grid is refused by sample and eval, naming numScales", async () => {
    for (const argv of [
      ["sample", "--model", dir("cd"), "--steps", "6", "--out", dir("z.png")],
      ["eval", "--model", dir("cd"), "--steps", "6", ...EVAL_FAST],
    ]) {
      io.err.length = 0;
      expect(await main(argv)).not.toBe(0);
      expect(io.err.join("")).toMatch(
        /steps: 6 but .*"_diffuse.consistency.numScales" = 6\); expected 1 to 5 steps/,
      );
    }
  });
});

describe("one-step students sample with their own sampler and steps", () => {
  it("diffuse sample: 1 step by default for a consistency student and a stage-2 reflow, 20 otherwise", async () => {
    const cases = [
      ["cd", "consistency", 1],
      ["reflow2", "flow_match_euler", 1],
      ["reflow", "flow_match_euler", 20],
    ] as const;
    for (const [model, sampler, steps] of cases) {
      io.out.length = 0;
      await ok([
        "sample",
        "--model",
        dir(model),
        "--num-samples",
        "2",
        "--threads",
        "1",
        "--out",
        dir(`${model}.safetensors`),
      ]);
      expect(lastJson()).toMatchObject({ sampler, steps, nfe: steps });
    }
    const index = JSON.parse(readFileSync(path.join(dir("reflow2"), "model_index.json"), "utf8"));
    expect(index._diffuse.reflow).toEqual({ stage: 2, pairs: 16, pairSteps: 2 });
  });

  it("diffuse eval --model: the folder's sampler and steps, or --sampler / --steps, reported with the NFE", async () => {
    const json = dir("eval.json");
    const cases: [string, string[], Record<string, unknown>][] = [
      ["cd", [], { sampler: "consistency", steps: 1, nfe: 1 }],
      ["cd", ["--steps", "2"], { sampler: "consistency", steps: 2, nfe: 2 }],
      ["reflow2", [], { sampler: "flow_match_euler", steps: 1, nfe: 1 }],
      ["flow", ["--sampler", "flow_heun", "--steps", "2"], { sampler: "flow_heun", steps: 2, nfe: 3 }],
      ["flow", ["--sampler", "flow_euler", "--steps", "2"], { sampler: "flow_euler", steps: 2, nfe: 2 }],
    ];
    for (const [model, flags, sampling] of cases) {
      await ok(["eval", "--model", dir(model), ...flags, ...EVAL_FAST, "--json", json]);
      const r = JSON.parse(readFileSync(json, "utf8"));
      expect(r.sampling).toMatchObject({ ...sampling, numSamples: 8 });
      expect(r.report.counts.samples).toBe(8);
      expect(Number.isFinite(r.report.fid.fid)).toBe(true);
    }
    // The NLL bounds read the network as a VP prediction: refused on students before sampling.
    for (const [model, msg] of [
      ["cd", /--nll: .*cd is a consistency student .*"_diffuse.consistency"/],
      [
        "reflow",
        /--nll: .*reflow is a flow-matching model .*"_class_name" is FlowMatchEulerDiscreteScheduler/,
      ],
    ] as const) {
      io.err.length = 0;
      expect(await main(["eval", "--model", dir(model), "--nll", "vlb", ...EVAL_FAST])).not.toBe(0);
      expect(io.err.join("")).toMatch(msg);
    }
    io.err.length = 0;
    expect(await main(["eval", "--model", dir("cd"), "--sampler", "ddpm", ...EVAL_FAST])).not.toBe(0);
    expect(io.err.join("")).toContain(`sampler ddpm: ${dir("cd")} is a consistency student`);
  }, 120_000);
});

describe("reflow trains on the couplings alone", () => {
  it("never reads the data set (stage 1 and stage 2), and records the couplings in the folder", () => {
    expect(reflowLoads).toBe(0);
    const index = JSON.parse(readFileSync(path.join(dir("reflow"), "model_index.json"), "utf8"));
    expect(index._diffuse).toMatchObject({ dataset: "mnist", reflow: { stage: 1, pairs: 16, pairSteps: 2 } });
  });
});

describe("teachers and students that do not fit are refused, writing nothing", () => {
  const settings = async (teacher: string, out: string) =>
    distillSettings(
      parseFlags(DISTILL_COMMAND, ["--teacher", teacher, "--method", "consistency", "--out", out]).values,
    );
  const refused = async (partial: Record<string, unknown>, msg: RegExp) => {
    await expect(
      runTraining(
        { steps: 1, batchSize: 8, threads: 1, limit: 32, ...partial },
        { progress: { write: () => true, isTTY: false } },
      ),
    ).rejects.toThrow(msg);
    const out = partial.out as string;
    expect(existsSync(path.join(out, "checkpoint.safetensors"))).toBe(false);
    expect(existsSync(path.join(out, "log.jsonl"))).toBe(false);
  };

  it("a teacher of another image size", async () => {
    cpSync(dir("teacher"), dir("teacher32"), { recursive: true });
    const file = path.join(dir("teacher32"), "unet", "config.json");
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), sample_size: 32 }));
    await refused(
      await settings(dir("teacher32"), dir("bad-size")),
      /teacher .*teacher32: its example shape \(in_channels, sample_size\) is \[1, 32, 32\] but the data's is \[1, 28, 28\]/,
    );
  });

  it("a teacher whose parametrisation consistency distillation cannot use", async () => {
    await refused(
      await settings(dir("cd"), dir("bad-cd")),
      /"_class_name" is DDPMScheduler \(a consistency student\)/,
    );
    cpSync(dir("teacher"), dir("teacher-ve"), { recursive: true });
    const file = path.join(dir("teacher-ve"), "scheduler", "scheduler_config.json");
    writeFileSync(file, JSON.stringify({ _class_name: "CMStochasticIterativeScheduler", sigma_max: 80 }));
    await refused(
      await settings(dir("teacher-ve"), dir("bad-ve")),
      /"_class_name" is CMStochasticIterativeScheduler; consistency distillation needs a VP diffusion teacher/,
    );
  });

  it("a student config that does not match the teacher", async () => {
    const base = await settings(dir("teacher"), dir("bad-student"));
    await refused(
      { ...base, classConditional: true },
      /field "classConditional" is true but the teacher's num_class_embeds .* is null; expected false/,
    );
    await refused(
      { ...base, numTrainTimesteps: 500 },
      /field "numTrainTimesteps" is 500 but the teacher's num_train_timesteps .* is 1000/,
    );
    await refused(
      { ...base, model: { layers_per_block: 2 } },
      /field "model.layers_per_block" is 2 but the teacher's/,
    );
  });
});
