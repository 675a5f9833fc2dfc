/**
 * Imputation with a joint diffusion model over all columns of a table (tutorial 8.3): the missing
 * cells of a row are a sample of p(x_missing | x_present), drawn by running the sampler on the whole
 * row while the replacement constraint (diffusion/constraints/replace.ts; Song et al. 2021, score SDE
 * App. I.2) sets the present entries to a fresh draw of q(x_t | x_present) after every step and to
 * their exact values after the last one. Rows are encoded and decoded by the model's table schema
 * (data/table-schema.ts). The sampling is the constraints' `inpaint` (pipelines/inpaint.ts), so RePaint
 * resampling (Lugmayr et al. 2022) and reconstruction guidance (Ho et al. 2022) are options.
 * With `draws` > 1 the missing entries are the mean of that many independent samples (a Monte-Carlo posterior mean: lower squared error than one draw; categorical blocks then
 * decode to the category with the largest mean one-hot entry). Browser-safe.
 */

import { columnOffsets, type EncodedRows, type TableSchema } from "../data/table-schema.js";
import type { Denoiser } from "../models/denoiser.js";
import * as T from "../tensor/index.js";
import { type InpaintOptions, inpaint } from "./inpaint.js";
import type { DiffusionPipeline } from "./pipeline.js";

export interface ImputeOptions
  extends Pick<InpaintOptions, "repaint" | "reconstructionGuidance" | "threads"> {
  /** Sampler name (default "ddpm": a stochastic sampler, whose fresh noise each step lets replacement mix). */
  sampler?: string;
  /** Sampling steps (default 100). */
  steps?: number;
  /** Independent samples averaged per row (default 1). */
  draws?: number;
  seed?: number;
  /** Rows per sampling batch (default 512). */
  batchSize?: number;
  onDraw?: (done: number, total: number) => void;
}

/** Checks the model fits the schema: an unconditional vector model of the schema's width. */
export function checkTableModel(denoiser: Denoiser, schema: TableSchema): void {
  const { dim } = columnOffsets(schema);
  const shape = denoiser.exampleShape;
  if (shape.length !== 1 || shape[0] !== dim) {
    throw new Error(
      `impute: the model's examples have shape [${shape.join(", ")}], but its table schema encodes rows as [${dim}] (${schema.columns.length} columns)`,
    );
  }
  if (denoiser.numClassEmbeds !== null) {
    throw new Error("impute: the model is class-conditional; a joint table model is unconditional");
  }
}

/**
 * Fills the unknown entries of `rows` (model space, [N, D]) by conditional sampling; returns [N, D]
 * whose known entries are the given values exactly.
 */
export async function imputeEncoded(
  pipe: DiffusionPipeline,
  schema: TableSchema,
  rows: EncodedRows,
  o: ImputeOptions = {},
): Promise<Float32Array> {
  checkTableModel(pipe.denoiser, schema);
  const { dim } = rows;
  const n = rows.data.length / dim;
  const draws = o.draws ?? 1;
  if (!Number.isInteger(draws) || draws < 1)
    throw new Error(`draws: expected a positive integer, got ${draws}`);
  const batch = o.batchSize ?? 512;
  const sum = new Float64Array(rows.data.length);
  const total = draws * Math.ceil(n / batch);
  let done = 0;
  for (let d = 0; d < draws; d++) {
    for (let start = 0; start < n; start += batch) {
      const m = Math.min(batch, n - start);
      const known = rows.data.subarray(start * dim, (start + m) * dim);
      const mask = rows.known.subarray(start * dim, (start + m) * dim);
      const out = await inpaint(
        pipe,
        T.tensor(Float32Array.from(known), [m, dim]),
        T.tensor(Float32Array.from(mask), [m, dim]),
        {
          sampler: o.sampler ?? "ddpm",
          steps: o.steps ?? 100,
          // Distinct streams per draw and batch.
          seed: (o.seed ?? 0) + 7919 * d + start,
          ...(o.repaint ? { repaint: o.repaint } : {}),
          ...(o.reconstructionGuidance ? { reconstructionGuidance: o.reconstructionGuidance } : {}),
          ...(o.threads !== undefined ? { threads: o.threads } : {}),
        },
      );
      const samples = out.samples.values() as Float32Array;
      for (let i = 0; i < samples.length; i++) sum[start * dim + i]! += samples[i]!;
      o.onDraw?.(++done, total);
    }
  }
  const out = new Float32Array(rows.data.length);
  for (let i = 0; i < out.length; i++) out[i] = rows.known[i] === 1 ? rows.data[i]! : sum[i]! / draws;
  return out;
}
