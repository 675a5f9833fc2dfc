import { describe, expect, it } from "vitest";
import * as diffuse from "../src/index.js";

describe("the package's Node entry", () => {
  it("registers ONNX Runtime, so compile works out of the box", async () => {
    const f = diffuse.compile((x: diffuse.Tensor) => diffuse.T.mul(x, 2));
    expect((await f(diffuse.T.tensor([1, 2], [2]))).toArray()).toEqual([2, 4]);
  });

  it("exposes the layers by name", () => {
    expect(typeof diffuse.models.UNet2DModel).toBe("function");
    expect(typeof diffuse.diffusion.createScheduler).toBe("function");
    expect(typeof diffuse.optim.adamwStep).toBe("function");
    expect(typeof diffuse.data.loadDataset).toBe("function");
    expect(typeof diffuse.runTraining).toBe("function");
    expect(typeof diffuse.stepsForMinutes).toBe("function");
  });

  it("exports the library API of issue 8 by name", () => {
    for (const f of [
      diffuse.loadPipeline,
      diffuse.DiffusionPipeline,
      diffuse.generate,
      diffuse.createSchedulerByName,
      diffuse.encodePng,
      diffuse.encodePngAsync,
      diffuse.decodePng,
      diffuse.diffusionLoss,
      diffuse.lossTables,
      diffuse.drawLossInputs,
      diffuse.makeTrainStep,
      diffuse.sampleQuality,
      diffuse.metrics.fid,
      diffuse.loadPretrainedAs,
      diffuse.wrapDenoiser,
    ]) {
      expect(typeof f).toBe("function");
    }
    expect(diffuse.SAMPLER_NAMES).toContain("dpmsolver++");
  });

  it("exposes the named error for bad input and the resource estimate", () => {
    expect(new diffuse.InputFileError("a.png", "bad")).toBeInstanceOf(diffuse.InputError);
    expect(
      diffuse.models.estimateModel({ _class_name: "MLPDenoiser", in_features: 2 }).parameters,
    ).toBeGreaterThan(0);
  });
});
