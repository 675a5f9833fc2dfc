/**
 * Sample-quality metrics over feature-net features, all in float64 (browser-safe):
 *
 * | metric              | file             | reference                                           |
 * |---------------------|------------------|-----------------------------------------------------|
 * | FID                 | fid.ts           | Heusel et al. 2017, eq. 6                           |
 * | KID (+ std. error)  | kid.ts           | Binkowski et al. 2018, section 4                    |
 * | precision / recall  | manifold.ts      | Kynkaanniemi et al. 2019, k = 3                     |
 * | density / coverage  | manifold.ts      | Naeem et al. 2020, k = 5                            |
 * | accuracy, IS        | classifier.ts    | Salimans et al. 2016 (Inception score)              |
 * | memorisation        | memorization.ts  | Yoon et al. 2023, d1/d2 < 1/3                       |
 *
 * `sampleQuality` computes all of them from feature matrices; the Node entry that reads files, runs
 * the feature net and samples models is evaluate-node.ts.
 */

import { makeKey, permutation } from "../random/index.js";
import { classAccuracy, inceptionScore, type ScoreWithSpread } from "./classifier.js";
import { type FidParts, fid } from "./fid.js";
import { type KidOptions, type KidResult, kid } from "./kid.js";
import { type ManifoldOptions, type ManifoldResult, manifoldMetrics } from "./manifold.js";
import { type Matrix, selectRows } from "./matrix.js";
import { memorization } from "./memorization.js";

export { accuracy, argmaxRows, classAccuracy, inceptionScore, softmaxRows } from "./classifier.js";
export { type FidParts, fid, fitGaussian, frechetDistance, type Gaussian } from "./fid.js";
export { type KidOptions, type KidResult, kid, polynomialKernel } from "./kid.js";
export { kthNeighbourSqRadii, nearestTwo } from "./knn.js";
export { sqrtPsd, symmetricEigen } from "./linalg.js";
export { type ManifoldOptions, type ManifoldResult, manifoldMetrics } from "./manifold.js";
export { fromRows, type Matrix, matrix } from "./matrix.js";
export { DEFAULT_MEMORIZATION_THRESHOLD, type MemorizationResult, memorization } from "./memorization.js";

export interface SampleQualityInput {
  /** Features of real (reference) images [n, d]. */
  real: Matrix;
  /** Features of generated images [m, d]. */
  fake: Matrix;
  /** Feature-net logits of the generated images [m, K] (for the Inception-score analogue). */
  fakeLogits?: Matrix;
  /** The class each generated image was asked for (class-conditional samples; needs fakeLogits). */
  labels?: ArrayLike<number>;
  /** Memorisation check: the samples and the training set in one space (pixels or features). */
  memorization?: { samples: Matrix; train: Matrix; space: "pixel" | "feature"; threshold?: number };
  kid?: KidOptions;
  manifold?: ManifoldOptions;
  /** Real points for precision/recall/density/coverage: default min(n, m), as the papers use equal sizes. */
  manifoldRealCount?: number;
  /** Splits of the Inception-score analogue (default 10). */
  isSplits?: number;
  /** Seed of the random subsets (KID, the manifold metrics' real subset); default 0. */
  seed?: number;
}

export interface SampleQualityReport {
  counts: { samples: number; reference: number; manifoldReference: number; train?: number };
  fid: FidParts;
  kid: KidResult;
  manifold: ManifoldResult;
  inceptionScore?: ScoreWithSpread;
  accuracy?: { overall: number; perClass: number[] };
  memorization?: {
    space: "pixel" | "feature";
    fraction: number;
    threshold: number;
    medianRatio: number;
    medianDistance: number;
  };
}

/** A random subset of `count` rows of `x` (all rows, in order, when count >= rows). */
function subsetRows(x: Matrix, count: number, seed: number): Matrix {
  if (count >= x.rows) return x;
  return selectRows(x, permutation(makeKey(seed), x.rows).subarray(0, count));
}

/** Every sample-quality metric of `input.fake` against `input.real`. */
export function sampleQuality(input: SampleQualityInput): SampleQualityReport {
  const { real, fake } = input;
  const seed = input.seed ?? 0;
  const manifoldCount = Math.min(input.manifoldRealCount ?? Math.min(real.rows, fake.rows), real.rows);
  const report: SampleQualityReport = {
    counts: { samples: fake.rows, reference: real.rows, manifoldReference: manifoldCount },
    fid: fid(fake, real),
    kid: kid(fake, real, { seed, ...input.kid }),
    manifold: manifoldMetrics(subsetRows(real, manifoldCount, seed + 7), fake, input.manifold),
  };
  if (input.fakeLogits) {
    if (input.fakeLogits.rows !== fake.rows) {
      throw new Error(`fakeLogits: ${input.fakeLogits.rows} rows, expected one per sample (${fake.rows})`);
    }
    report.inceptionScore = inceptionScore(input.fakeLogits, input.isSplits);
    if (input.labels) report.accuracy = classAccuracy(input.fakeLogits, input.labels);
  } else if (input.labels) {
    throw new Error("labels: the accuracy of class-conditional samples needs fakeLogits");
  }
  if (input.memorization) {
    const m = input.memorization;
    const r = memorization(m.samples, m.train, m.threshold);
    report.counts.train = m.train.rows;
    report.memorization = {
      space: m.space,
      fraction: r.fraction,
      threshold: r.threshold,
      medianRatio: r.medianRatio,
      medianDistance: r.medianDistance,
    };
  }
  return report;
}
