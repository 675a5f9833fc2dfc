/** The sample-quality report as a markdown table (what `diffuse eval` prints). Browser-safe. */
import type { SampleQualityReport } from "./metrics.js";

/** A number with `digits` significant digits, without exponent for ordinary magnitudes. */
export function fmt(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e-4 && a < 1e6) return Number(v.toPrecision(digits)).toString();
  return v.toExponential(digits - 1);
}

/** Markdown table rows: metric | value | detail. */
export function reportRows(r: SampleQualityReport): [string, string, string][] {
  const c = r.counts;
  const rows: [string, string, string][] = [
    [
      "FID",
      fmt(r.fid.fid),
      `mean term ${fmt(r.fid.meanTerm)}, covariance term ${fmt(r.fid.covTerm)}; ${c.samples} samples vs ${c.reference} real`,
    ],
    [
      "KID",
      `${fmt(r.kid.mean)} ± ${fmt(r.kid.stderr, 2)}`,
      `± standard error (from ${r.kid.independentSubsets} disjoint subset${r.kid.independentSubsets === 1 ? "" : "s"}); ${r.kid.subsets} subsets of ${r.kid.subsetSize}, std ${fmt(r.kid.std, 3)}`,
    ],
    ["precision", fmt(r.manifold.precision), `k = ${r.manifold.kPR}; ${c.manifoldReference} real`],
    ["recall", fmt(r.manifold.recall), `k = ${r.manifold.kPR}`],
    ["density", fmt(r.manifold.density), `k = ${r.manifold.kDC}`],
    ["coverage", fmt(r.manifold.coverage), `k = ${r.manifold.kDC}`],
  ];
  if (r.inceptionScore) {
    const s = r.inceptionScore;
    rows.push(["IS (feature net)", `${fmt(s.mean)} ± ${fmt(s.std, 2)}`, `± std over ${s.splits} splits`]);
  }
  if (r.accuracy) {
    const per = r.accuracy.perClass.map((a, k) => `${k}: ${Number.isNaN(a) ? "-" : fmt(a, 3)}`).join(", ");
    rows.push(["class accuracy", fmt(r.accuracy.overall), per]);
  }
  if (r.memorization) {
    const m = r.memorization;
    rows.push([
      "memorised",
      fmt(m.fraction),
      `d1/d2 < ${fmt(m.threshold, 3)} in ${m.space} space vs ${c.train} train; median d1/d2 ${fmt(m.medianRatio)}`,
    ]);
  }
  return rows;
}

/** The report as a markdown table. */
export function formatReport(r: SampleQualityReport): string {
  const rows = reportRows(r);
  const lines = [
    "| metric | value | detail |",
    "|---|---|---|",
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ];
  return `${lines.join("\n")}\n`;
}
