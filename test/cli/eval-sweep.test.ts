/** `diffuse eval` sweeps over --classifier-scale / --guidance-scale: parsing, table, plot, end to end. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatSweep, scalesOf, sweepPlot, sweptFlag } from "../../src/cli/eval-sweep.js";
import { main } from "../../src/cli/main.js";
import { decodePng } from "../../src/io/png.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { NoiseConditionedClassifier } from "../../src/models/noise-classifier.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { saveClassifierFolder } from "../../src/pipelines/classifier-folder-node.js";
import { saveModelFolder } from "../../src/pipelines/model-folder-node.js";
import { makeKey } from "../../src/random/index.js";
import { setDefaultRuntime } from "../../src/tensor/index.js";
import { captureStdio } from "./capture.js";

setDefaultRuntime(nodeOrt);

const root = mkdtempSync(path.join(tmpdir(), "diffuse-eval-sweep-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const { out, err } = captureStdio();

describe("sweep parsing and output", () => {
  it("reads comma lists, refuses non-numbers and two sweeps at once", () => {
    expect(scalesOf({ classifierScale: ["0", "1.5", "4"] }, "classifierScale")).toEqual([0, 1.5, 4]);
    expect(() => scalesOf({ guidanceScale: ["1", "x"] }, "guidanceScale")).toThrow(
      /--guidance-scale: "x" is not a number/,
    );
    expect(sweptFlag({ guidanceScale: ["3"] })).toBeNull();
    expect(sweptFlag({ guidanceScale: ["1", "3"] })).toBe("guidanceScale");
    expect(() => sweptFlag({ guidanceScale: ["1", "3"], classifierScale: ["0", "2"] })).toThrow(/sweep one/);
  });

  it("prints one row per scale and draws two panels", () => {
    const rows = [
      { scale: 0, fid: 100, kid: 0.1, kidStderr: 0.01, precision: 0.5, recall: 0.6, accuracy: 0.1 },
      { scale: 2, fid: 120, kid: 0.12, kidStderr: 0.01, precision: 0.7, recall: 0.4, accuracy: 0.9 },
    ];
    const table = formatSweep("classifier-scale", rows);
    expect(table.split("\n")[0]).toBe("| classifier-scale | FID | KID | precision | recall | accuracy |");
    expect(table).toContain("| 2 | 120 | 0.12 ± 0.01 | 0.7 | 0.4 | 0.9 |");
    const img = sweepPlot(rows);
    expect([img.width, img.height]).toEqual([720, 240]);
    expect(img.data.some((v) => v !== 255)).toBe(true);
  });
});

describe("diffuse eval --classifier-scale 0,4 end to end (tiny model, few samples)", async () => {
  const model = path.join(root, "uncond");
  const denoiser = denoiserFromConfig(
    {
      _class_name: "UNet2DModel",
      sample_size: 28,
      in_channels: 1,
      out_channels: 1,
      block_out_channels: [8, 8],
      down_block_types: ["DownBlock2D", "DownBlock2D"],
      up_block_types: ["UpBlock2D", "UpBlock2D"],
      norm_num_groups: 4,
      layers_per_block: 1,
    },
    makeKey(1),
  );
  const schedule = {
    _class_name: "DDPMScheduler",
    num_train_timesteps: 1000,
    beta_schedule: "squaredcos_cap_v2",
  };
  await saveModelFolder(model, denoiser, denoiser.module.parameters(), schedule, {
    dataset: "mnist",
    dataKind: "image",
  });
  const cdir = path.join(root, "classifier");
  const classifier = new NoiseConditionedClassifier({
    sample_size: 28,
    in_channels: 1,
    num_classes: 10,
    block_out_channels: [8, 8],
    down_block_types: ["DownBlock2D", "DownBlock2D"],
    layers_per_block: 1,
    norm_num_groups: 4,
  });
  await saveClassifierFolder(cdir, classifier, classifier.parameters(), schedule);

  it("prints the table, writes the plot and the JSON with one run per scale", async () => {
    const plot = path.join(root, "sweep.png");
    const json = path.join(root, "sweep.json");
    const argv = ["eval", "--model", model, "--classifier", cdir, "--classifier-scale", "0,4"];
    const flags = ["--num-samples", "20", "--steps", "2", "--ref-count", "40", "--memorization", "none"];
    const code = await main([...argv, ...flags, "--kid-subsets", "4", "--plot", plot, "--json", json]);
    expect(code, err.join("")).toBe(0);
    const text = out.join("");
    expect(text).toMatch(/\| classifier-scale \| FID \| KID \| precision \| recall \| accuracy \|/);
    expect(text).toMatch(/\n\| 0 \| /);
    expect(text).toMatch(/\n\| 4 \| /);
    const report = JSON.parse(readFileSync(json, "utf8"));
    expect(report.rows.map((r: { scale: number }) => r.scale)).toEqual([0, 4]);
    expect(report.runs).toHaveLength(2);
    for (const r of report.rows) expect(r.accuracy >= 0 && r.accuracy <= 1).toBe(true);
    expect(decodePng(readFileSync(plot)).width).toBe(720);
  });

  it("--classifier-scale without --classifier is a usage error", async () => {
    expect(await main(["eval", "--model", model, "--classifier-scale", "0,1"])).toBe(2);
    expect(err.join("")).toMatch(/--classifier-scale: needs --classifier DIR/);
  });
});
