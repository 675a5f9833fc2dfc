/**
 * The sanity table of the sample-quality metrics (docs/metrics-sanity.md): each metric on image sets
 * whose quality is known by construction.
 *
 *   npx tsx scripts/metrics-sanity.ts [--datasets mnist,fashion-mnist] [--n N] [--eval-count M]
 *       [--splits S] [--out FILE]
 *
 * The test split is shuffled (seed 0) and cut in two halves of n: the reference (as `diffuse eval`
 * uses the test split) and the held-out half. Rows, n images each: the held-out test half (real vs
 * real), n random training images (real, but seen by the feature net in training), the held-out half
 * with Gaussian noise (sigma 0.1, 0.3; clamped to [-1, 1]), blurred (Gaussian, sigma 1 px), n training
 * images of one class (mode collapse), uniform noise on [-1, 1].
 *
 * Second table, real vs real as `diffuse eval --num-samples M` measures a model (default M = 2000):
 * for each of S random splits of the test split (seeds 1..S), M test images play the samples and the
 * other 10000 - M test images the reference, through `sampleQuality` (the function behind `diffuse
 * eval`: FID / KID on the whole reference, precision / recall on M reference images). Its mean is the
 * floor a model's FID at M samples is compared with; its spread is the evaluation's own noise.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type ImageDataset, loadDataset } from "../src/data/index.js";
import { extractFeatures } from "../src/eval/extract.js";
import { loadFeatureNet } from "../src/eval/feature-net-node.js";
import { selectRows } from "../src/eval/matrix.js";
import { fid, kid, type Matrix, manifoldMetrics, sampleQuality } from "../src/eval/metrics.js";
import { fmt } from "../src/eval/report.js";
import { nodeOrt } from "../src/onnx/node.js";
import { makeKey, normal, permutation, uniform } from "../src/random/index.js";
import * as T from "../src/tensor/index.js";

const SIZE = 28;
const PER = SIZE * SIZE;

function addNoise(x: Float32Array, sigma: number, seed: number): Float32Array {
  const z = normal(makeKey(seed), x.length);
  return x.map((v, i) => Math.min(1, Math.max(-1, v + sigma * z[i]!)));
}

/** Separable Gaussian blur (sigma in pixels, radius 2 sigma), edges padded with the background -1. */
function blur(x: Float32Array, sigma: number): Float32Array {
  const r = Math.ceil(2 * sigma);
  const w = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const total = w.reduce((a, b) => a + b, 0);
  const k = w.map((v) => v / total);
  const pass = (src: Float32Array, horizontal: boolean) => {
    const out = new Float32Array(src.length);
    for (let img = 0; img < src.length / PER; img++) {
      for (let y = 0; y < SIZE; y++)
        for (let xx = 0; xx < SIZE; xx++) {
          let s = 0;
          for (let t = -r; t <= r; t++) {
            const [yy, xc] = horizontal ? [y, xx + t] : [y + t, xx];
            const inside = yy >= 0 && yy < SIZE && xc >= 0 && xc < SIZE;
            s += k[t + r]! * (inside ? src[img * PER + yy * SIZE + xc]! : -1);
          }
          out[img * PER + y * SIZE + xx] = s;
        }
    }
    return out;
  };
  return pass(pass(x, true), false);
}

/** The first n training images of class `cls`. */
function oneClass(ds: ImageDataset, cls: number, n: number): Float32Array {
  const out = new Float32Array(n * PER);
  let k = 0;
  for (let i = 0; i < ds.labels!.length && k < n; i++) {
    if (ds.labels![i] === cls) out.set(ds.images.subarray(i * PER, (i + 1) * PER), PER * k++);
  }
  if (k < n) throw new Error(`${ds.name}: only ${k} training images of class ${cls}, need ${n}`);
  return out;
}

/** Images `order[start, start + n)` of `ds`. */
function pick(ds: ImageDataset, order: Int32Array, start: number, n: number): Float32Array {
  const out = new Float32Array(n * PER);
  for (let i = 0; i < n; i++)
    out.set(ds.images.subarray(order[start + i]! * PER, (order[start + i]! + 1) * PER), i * PER);
  return out;
}

interface Row {
  name: string;
  fid: number;
  kid: number;
  kidSe: number;
  precision: number;
  recall: number;
  density: number;
  coverage: number;
  seconds: number;
}

async function sanity(dataset: string, n: number): Promise<Row[]> {
  const { net, params } = await loadFeatureNet(dataset);
  const features = async (images: Float32Array) =>
    (await extractFeatures(net, params, images, { batchSize: 500 })).features;
  const train = loadDataset(dataset, { split: "train" }) as ImageDataset;
  const test = loadDataset(dataset, { split: "test" }) as ImageDataset;
  const testOrder = permutation(makeKey(0), test.labels!.length);
  if (2 * n > testOrder.length)
    throw new Error(`--n: ${n} is more than half the ${testOrder.length} test images`);
  const real = await features(pick(test, testOrder, 0, n));
  const held = pick(test, testOrder, n, n);
  const variants: [string, Float32Array][] = [
    ["held-out test images (real vs real)", held],
    [
      "random training images (real, seen by the feature net)",
      pick(train, permutation(makeKey(1), train.labels!.length), 0, n),
    ],
    ["held-out + Gaussian noise, sigma 0.1", addNoise(held, 0.1, 2)],
    ["held-out + Gaussian noise, sigma 0.3", addNoise(held, 0.3, 3)],
    ["held-out, Gaussian blur sigma 1 px", blur(held, 1)],
    ["one class only (training images of class 1)", oneClass(train, 1, n)],
    ["uniform noise on [-1, 1]", uniform(makeKey(4), n * PER).map((u) => 2 * u - 1)],
  ];
  const rows: Row[] = [];
  for (const [name, images] of variants) {
    const t0 = performance.now();
    const fake: Matrix = await features(images);
    const f = fid(fake, real);
    const k = kid(fake, real, { seed: 0 });
    const m = manifoldMetrics(real, fake);
    const seconds = (performance.now() - t0) / 1000;
    rows.push({ name, fid: f.fid, kid: k.mean, kidSe: k.stderr, ...m, seconds });
    process.stderr.write(`${dataset} ${name}: FID ${f.fid.toFixed(3)} (${seconds.toFixed(1)} s)\n`);
  }
  return rows;
}

interface SplitRow {
  seed: number;
  fid: number;
  kid: number;
  precision: number;
  recall: number;
}

/** Real vs real at `diffuse eval`'s counts: M test images against the other test images, S splits. */
async function evalCountSplits(dataset: string, m: number, splits: number): Promise<SplitRow[]> {
  const { net, params } = await loadFeatureNet(dataset);
  const test = loadDataset(dataset, { split: "test" }) as ImageDataset;
  const all = (await extractFeatures(net, params, test.images, { batchSize: 500 })).features;
  const count = all.rows;
  if (m >= count) throw new Error(`--eval-count: ${m} leaves no reference among ${count} test images`);
  const rows: SplitRow[] = [];
  for (let seed = 1; seed <= splits; seed++) {
    const order = permutation(makeKey(1000 + seed), count);
    const r = sampleQuality({
      fake: selectRows(all, order.subarray(0, m)),
      real: selectRows(all, order.subarray(m)),
      seed,
    });
    rows.push({
      seed,
      fid: r.fid.fid,
      kid: r.kid.mean,
      precision: r.manifold.precision,
      recall: r.manifold.recall,
    });
    process.stderr.write(
      `${dataset} real vs real, ${m} vs ${count - m}, split ${seed}: FID ${r.fid.fid.toFixed(3)}\n`,
    );
  }
  return rows;
}

function meanSd(v: number[]): string {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, v.length - 1));
  return `${fmt(mean, 3)} ± ${fmt(sd, 2)} (${fmt(Math.min(...v), 3)} .. ${fmt(Math.max(...v), 3)})`;
}

function splitTable(rows: SplitRow[], m: number, reference: number): string {
  return [
    `Real vs real at \`diffuse eval\`'s counts: ${m} test images as the samples, the other ${reference} test images as the reference, ${rows.length} random splits (mean ± sd (min .. max)):`,
    "",
    "| metric | real vs real |",
    "|---|---|",
    `| FID | ${meanSd(rows.map((r) => r.fid))} |`,
    `| KID | ${meanSd(rows.map((r) => r.kid))} |`,
    `| precision | ${meanSd(rows.map((r) => r.precision))} |`,
    `| recall | ${meanSd(rows.map((r) => r.recall))} |`,
  ].join("\n");
}

function table(rows: Row[]): string {
  const head =
    "| images (vs the reference test half) | FID | KID | precision | recall | density | coverage |";
  const lines = rows.map(
    (r) =>
      `| ${r.name} | ${fmt(r.fid)} | ${fmt(r.kid, 3)} ± ${fmt(r.kidSe, 2)} | ${fmt(r.precision, 3)} | ${fmt(r.recall, 3)} | ${fmt(r.density, 3)} | ${fmt(r.coverage, 3)} |`,
  );
  return [head, "|---|---|---|---|---|---|---|", ...lines].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      datasets: { type: "string", default: "mnist,fashion-mnist" },
      n: { type: "string", default: "5000" },
      "eval-count": { type: "string", default: "2000" },
      splits: { type: "string", default: "5" },
      out: { type: "string" },
    },
  });
  T.setDefaultRuntime(nodeOrt);
  const n = Number(values.n);
  const sections: string[] = [];
  const json: Record<string, { rows: Row[]; evalCount: SplitRow[] }> = {};
  const m = Number(values["eval-count"]);
  const splits = Number(values.splits);
  const t0 = performance.now();
  for (const ds of values.datasets!.split(",")) {
    const rows = await sanity(ds, n);
    const split = await evalCountSplits(ds, m, splits);
    json[ds] = { rows, evalCount: split };
    sections.push(`## ${ds}\n\n${table(rows)}\n\n${splitTable(split, m, 10_000 - m)}\n`);
  }
  const minutes = ((performance.now() - t0) / 60000).toFixed(1);
  const doc = [
    "# Sample-quality metrics: sanity table",
    "",
    "Generated by `npx tsx scripts/metrics-sanity.ts` (do not edit by hand; it took",
    `${minutes} min on 2 cores). Features: the shipped feature nets (assets/feature-nets, penultimate`,
    `layer, d = 128). The test split is shuffled and cut into two halves of ${n}: the reference (as`,
    "`diffuse eval` uses the test split) and a held-out half from which the rows are built. Every row",
    `has ${n} images, so every metric sees equal set sizes. KID: mean ± standard error over 100 subsets`,
    "of 1000 drawn from pools of 2000 per set (the standard error counts the 2 disjoint subsets a pool",
    "holds, see src/eval/kid.ts; feature scale: mean |f|^2 / d is about 4-5, so KID values are larger",
    "than Inception-feature KIDs). Precision / recall use k = 3, density / coverage k = 5.",
    "",
    "What to expect: real vs real has FID near its finite-sample bias (FID is biased upwards; KID is",
    "unbiased, so about 0 within its standard error), precision / recall near 0.9 (k-NN balls of",
    "finite samples miss some of the other set's points) and density / coverage near 1. Training images",
    "are real but were seen by the feature net, which maps them a little more tightly: the reason the",
    "reference is the test split. Blur raises FID and KID and lowers recall; one-class collapse keeps",
    "precision and density (its images are real) but loses recall and coverage; uniform noise is far",
    "from the data on every metric. Pixel noise: the Fashion-MNIST net reacts to sigma 0.1 already,",
    "the MNIST net barely (a digit classifier learns to ignore light noise, and its training shifted the",
    "digits); on MNIST, sigma 0.3 noise shows in FID, KID and density, sigma 0.1 does not.",
    "",
    `The second table of each dataset is the floor for \`diffuse eval --num-samples ${m}\`: FID's bias grows`,
    `as the sample count falls, so a model evaluated on ${m} samples is compared with real images at ${m},`,
    "not with the first table's rows. Its spread over splits is the evaluation's own noise.",
    "",
    ...sections,
  ].join("\n");
  if (values.out) writeFileSync(values.out, doc);
  process.stdout.write(`${doc}\n`);
  process.stdout.write(`${JSON.stringify(json)}\n`);
}

await main();
