/**
 * Sample a trained model folder (written by `diffuse train`, or diffusers' DDPMPipeline layout) through
 * the pipeline and save a PNG: an image grid, or a scatter plot of 2-D points.
 *
 *   npx tsx examples/sample-folder.ts <model-dir> [out=samples.png] [guidance=3] [sampler=dpmsolver++] [steps=20]
 *
 * Class-conditional models get the labels 0, 1, 2, ... (one row of the grid per class when possible).
 */
import { writeFileSync } from "node:fs";
import { encodePng, loadPipeline, SAMPLER_NAMES } from "diffuse";

const [dir, out = "samples.png", guidance = "3", sampler = "dpmsolver++", steps = "20"] =
  process.argv.slice(2);
if (!dir) {
  console.error("usage: sample-folder.ts <model-dir> [out.png] [guidance] [sampler] [steps]");
  console.error(`samplers: ${SAMPLER_NAMES.join(", ")}`);
  process.exit(2);
}

const pipe = await loadPipeline(dir);
const classes = pipe.numClasses;
const numSamples = classes === null ? 64 : classes * Math.max(1, Math.floor(64 / classes));
const t0 = performance.now();
const output = await pipe.generate({
  numSamples,
  ...(classes !== null ? { guidanceScale: Number(guidance) } : {}),
  sampler,
  steps: Number(steps),
  seed: 0,
  onStep: (i, total) => process.stderr.write(`\rstep ${i}/${total}`),
});
process.stderr.write("\n");
writeFileSync(out, encodePng(output.toImage({ nrow: classes ?? 8 })));
console.log(
  JSON.stringify({ out, shape: output.samples.shape, seconds: (performance.now() - t0) / 1000, classes }),
);
