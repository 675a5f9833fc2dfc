/**
 * k-NN manifold metrics between real features R (n points) and generated features F (m points):
 *
 * Improved precision and recall (Kynkaanniemi et al. 2019, "Improved Precision and Recall Metric for
 * Assessing Generative Models", eq. 1-3), k = 3: each point carries a ball whose radius is the
 * distance to its k-th nearest neighbour in its own set;
 *   precision = fraction of F inside some ball of R,   recall = fraction of R inside some ball of F.
 *
 * Density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative
 * Models", eq. 5-6), k = 5, balls of R only:
 *   density  = 1/(k m) sum_j #{ i : F_j in B(R_i, NND_k(R_i)) }     (about 1 when F matches R; can exceed 1)
 *   coverage = 1/n #{ i : some F_j in B(R_i, NND_k(R_i)) }
 *
 * "Inside" is distance <= radius. One pass over the n x m real/fake distances serves all four; the
 * radii cost n^2/2 + m^2/2 more distances. Browser-safe.
 */
import { kthNeighbourSqRadii } from "./knn.js";
import { expectSameCols, type Matrix, rowSqDist } from "./matrix.js";

export interface ManifoldOptions {
  /** k of precision/recall (default 3). */
  kPR?: number;
  /** k of density/coverage (default 5). */
  kDC?: number;
}

export interface ManifoldResult {
  precision: number;
  recall: number;
  density: number;
  coverage: number;
  kPR: number;
  kDC: number;
}

/** Precision, recall, density and coverage of `fake` against `real` (features [n, d] and [m, d]). */
export function manifoldMetrics(real: Matrix, fake: Matrix, options: ManifoldOptions = {}): ManifoldResult {
  expectSameCols(real, fake, "precision/recall");
  const kPR = options.kPR ?? 3;
  const kDC = options.kDC ?? 5;
  const realPR = kthNeighbourSqRadii(real, kPR);
  const realDC = kPR === kDC ? realPR : kthNeighbourSqRadii(real, kDC);
  const fakePR = kthNeighbourSqRadii(fake, kPR);
  const recalled = new Uint8Array(real.rows);
  const covered = new Uint8Array(real.rows);
  let precise = 0;
  let inBalls = 0;
  for (let j = 0; j < fake.rows; j++) {
    let inside = false;
    for (let i = 0; i < real.rows; i++) {
      const d = rowSqDist(fake, j, real, i);
      if (d <= realPR[i]!) inside = true;
      if (d <= realDC[i]!) {
        inBalls++;
        covered[i] = 1;
      }
      if (d <= fakePR[j]!) recalled[i] = 1;
    }
    if (inside) precise++;
  }
  const count = (a: Uint8Array) => a.reduce((s, v) => s + v, 0);
  return {
    precision: precise / fake.rows,
    recall: count(recalled) / real.rows,
    density: inBalls / (kDC * fake.rows),
    coverage: count(covered) / real.rows,
    kPR,
    kDC,
  };
}
