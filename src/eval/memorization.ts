/**
 * Memorisation check: for each sample x, the distances d1 <= d2 to its nearest and second-nearest
 * training images, and the ratio d1 / d2. A sample that copies a training image sits much closer to
 * that one image than to any other: Yoon et al. 2023 ("Diffusion Probabilistic Models Generalize when
 * They Fail to Memorize") count a sample as memorised when d1 / d2 < 1/3, the criterion that Carlini
 * et al. 2023 ("Extracting Training Data from Diffusion Models") use in a similar form. The distances
 * are Euclidean, in pixel space or in feature space (whichever matrices are passed). Browser-safe.
 */
import { nearestTwo } from "./knn.js";
import { expectSameCols, type Matrix } from "./matrix.js";

export const DEFAULT_MEMORIZATION_THRESHOLD = 1 / 3;

export interface MemorizationResult {
  /** Fraction of samples with d1 / d2 < threshold. */
  fraction: number;
  threshold: number;
  /** Per sample: d1 / d2 (1 when d2 = 0, i.e. two training images tie at distance 0). */
  ratios: Float64Array;
  /** Per sample: index of the nearest training row, and d1. */
  nearestIndex: Int32Array;
  nearestDistance: Float64Array;
  /** Median of the ratios and of d1. */
  medianRatio: number;
  medianDistance: number;
}

function median(v: Float64Array): number {
  const s = Float64Array.from(v).sort();
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : 0.5 * (s[h - 1]! + s[h]!);
}

/** The memorisation check of `samples` [n, d] against `train` [N, d]. */
export function memorization(
  samples: Matrix,
  train: Matrix,
  threshold = DEFAULT_MEMORIZATION_THRESHOLD,
): MemorizationResult {
  expectSameCols(samples, train, "memorization");
  if (!(threshold > 0 && threshold <= 1)) {
    throw new Error(`memorization: threshold is ${threshold}, expected a number in (0, 1]`);
  }
  if (samples.rows === 0) throw new Error("memorization: no samples");
  const { sqDist, index } = nearestTwo(samples, train);
  const n = samples.rows;
  const ratios = new Float64Array(n);
  const nearestIndex = new Int32Array(n);
  const nearestDistance = new Float64Array(n);
  let below = 0;
  for (let i = 0; i < n; i++) {
    const d1 = Math.sqrt(sqDist[2 * i]!);
    const d2 = Math.sqrt(sqDist[2 * i + 1]!);
    ratios[i] = d2 > 0 ? d1 / d2 : 1;
    nearestIndex[i] = index[2 * i]!;
    nearestDistance[i] = d1;
    if (ratios[i]! < threshold) below++;
  }
  return {
    fraction: below / n,
    threshold,
    ratios,
    nearestIndex,
    nearestDistance,
    medianRatio: median(ratios),
    medianDistance: median(nearestDistance),
  };
}
