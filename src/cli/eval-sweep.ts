/**
 * `diffuse eval --model DIR --guidance-scale 0,1,3,5` or `--classifier DIR --classifier-scale 0,1,2,4`:
 * one evaluation per scale (same seed, sampler and sample count), printed as one table
 * (scale, FID, KID, precision, recall, class accuracy on the requested labels) and drawn as a two-panel
 * PNG (left: FID against the scale, blue; right: accuracy against the scale, orange; linear axes from
 * the data's range, no text): the quality/diversity trade-off of guidance (tutorial 5.3.2; Ho &
 * Salimans 2022, Fig. 4; Dhariwal & Nichol 2021, Table 4).
 */

import { fmt } from "../eval/report.js";
import { writeFileAtomic } from "../io/files.js";
import type { RawImage } from "../io/image.js";
import { lineChart } from "../io/plot.js";
import { encodePng } from "../io/png.js";
import { type FlagValue, UsageError } from "./args.js";

export type SweepFlag = "guidanceScale" | "classifierScale";

export interface SweepRow {
  scale: number;
  fid: number;
  kid: number;
  kidStderr: number;
  precision: number;
  recall: number;
  /** Feature-net accuracy on the requested labels (absent without labels). */
  accuracy: number | null;
}

export interface SweepOutput {
  flag: "guidance-scale" | "classifier-scale";
  rows: SweepRow[];
  plot: string;
  numSamples: number;
}

/** The scales of a list flag as numbers (UsageError naming the flag for a non-number). */
export function scalesOf(values: Record<string, FlagValue>, flag: SweepFlag): number[] | undefined {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  const list = Array.isArray(raw) ? raw : [String(raw)];
  const name = flag === "guidanceScale" ? "--guidance-scale" : "--classifier-scale";
  if (list.length === 0) throw new UsageError(`${name}: expected a number or a comma list of numbers`);
  return list.map((s) => {
    const v = Number(s);
    if (s.trim() === "" || !Number.isFinite(v)) {
      throw new UsageError(`${name}: ${JSON.stringify(s)} is not a number; expected e.g. 0,1,3,5`);
    }
    return v;
  });
}

/** Which flag is swept (more than one value), if any; both swept at once is a usage error. */
export function sweptFlag(values: Record<string, FlagValue>): SweepFlag | null {
  const g = scalesOf(values, "guidanceScale") ?? [];
  const c = scalesOf(values, "classifierScale") ?? [];
  if (g.length > 1 && c.length > 1) {
    throw new UsageError(
      "--guidance-scale and --classifier-scale: sweep one of them (the other takes one value)",
    );
  }
  if (g.length > 1) return "guidanceScale";
  if (c.length > 1) return "classifierScale";
  return null;
}

/** One row per scale: `evalOne` is run with the flag set to that single value. */
export async function runSweep<R extends SweepSource>(
  values: Record<string, FlagValue>,
  flag: SweepFlag,
  evalOne: (values: Record<string, FlagValue>) => Promise<R>,
): Promise<{ rows: SweepRow[]; runs: R[] }> {
  if (values.model === undefined)
    throw new UsageError(
      `--${flag === "guidanceScale" ? "guidance" : "classifier"}-scale: a list needs --model`,
    );
  const rows: SweepRow[] = [];
  const runs: R[] = [];
  for (const scale of scalesOf(values, flag)!) {
    process.stderr.write(`${flag === "guidanceScale" ? "guidance" : "classifier"} scale ${scale}:\n`);
    const { json: _, ...rest } = values;
    const r = await evalOne({ ...rest, [flag]: [String(scale)] });
    runs.push(r);
    rows.push(rowOf(scale, r));
  }
  return { rows, runs };
}

/** What a row needs from one evaluation. */
export interface SweepSource {
  report: {
    fid: { fid: number };
    kid: { mean: number; stderr: number };
    manifold: { precision: number; recall: number };
    accuracy?: { overall: number };
  };
}

function rowOf(scale: number, r: SweepSource): SweepRow {
  return {
    scale,
    fid: r.report.fid.fid,
    kid: r.report.kid.mean,
    kidStderr: r.report.kid.stderr,
    precision: r.report.manifold.precision,
    recall: r.report.manifold.recall,
    accuracy: r.report.accuracy?.overall ?? null,
  };
}

/** The sweep as a markdown table. */
export function formatSweep(flag: string, rows: SweepRow[]): string {
  const lines = [
    `| ${flag} | FID | KID | precision | recall | accuracy |`,
    "|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.scale} | ${fmt(r.fid)} | ${fmt(r.kid)} ± ${fmt(r.kidStderr, 2)} | ${fmt(r.precision)} | ${fmt(r.recall)} | ${r.accuracy === null ? "-" : fmt(r.accuracy)} |`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}

/** Two panels side by side: FID (blue) and accuracy (orange) against the scale. */
export function sweepPlot(rows: SweepRow[]): RawImage {
  const x = rows.map((r) => r.scale);
  const left = lineChart([{ x, y: rows.map((r) => r.fid), color: [31, 119, 180] }], {
    width: 360,
    height: 240,
    logY: false,
  });
  const acc = rows.map((r) => r.accuracy ?? Number.NaN);
  const right = lineChart([{ x, y: acc, color: [255, 127, 14] }], { width: 360, height: 240, logY: false });
  const out: RawImage = {
    width: left.width + right.width,
    height: left.height,
    channels: 3,
    data: new Uint8Array((left.width + right.width) * left.height * 3),
  };
  for (let y = 0; y < left.height; y++) {
    out.data.set(left.data.subarray(y * left.width * 3, (y + 1) * left.width * 3), y * out.width * 3);
    out.data.set(
      right.data.subarray(y * right.width * 3, (y + 1) * right.width * 3),
      (y * out.width + left.width) * 3,
    );
  }
  return out;
}

/** Writes the plot PNG and (given) the JSON of the sweep. */
export async function writeSweep(
  out: SweepOutput,
  json: string | undefined,
  extra: Record<string, unknown>,
): Promise<void> {
  await writeFileAtomic(out.plot, encodePng(sweepPlot(out.rows)));
  if (json) await writeFileAtomic(json, `${JSON.stringify({ ...out, ...extra }, null, 2)}\n`);
}
