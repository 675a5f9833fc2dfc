/**
 * Golden kind `loss-weights`: a case holds a diffusers scheduler `config`, `min_snr_gamma`, and the
 * reference `snr` and min-SNR weights `min_snr_epsilon`, `min_snr_v` (and `min_snr_sample` if present),
 * per training timestep.
 */
import { minSnrWeights, type PredictionType } from "../../diffusion/loss-weights.js";
import { alphasCumprod, type BetaScheduleConfig, betasFor, snr } from "../../diffusion/schedules.js";
import { type ArrayCheck, checkArrays, parseNumberArray, parseTolerance } from "../compare.js";
import { type CaseHandler, registerKind } from "../registry.js";

/** Golden weight arrays and the prediction type each one is for. */
const WEIGHTS: Record<string, PredictionType> = {
  min_snr_epsilon: "epsilon",
  min_snr_v: "v_prediction",
  min_snr_sample: "sample",
};

function configOf(data: Record<string, unknown>): BetaScheduleConfig {
  const config = data.config;
  if (typeof config !== "object" || config === null) {
    throw new Error(`config ${JSON.stringify(config)} is not an object of scheduler fields`);
  }
  return config as BetaScheduleConfig;
}

export const checkLossWeights: CaseHandler = async (data) => {
  const tol = parseTolerance(data.tolerance);
  const ratio = snr(alphasCumprod(betasFor(configOf(data))));
  const checks: ArrayCheck[] = [];
  if (data.snr !== undefined)
    checks.push({ name: "snr", got: ratio, want: parseNumberArray(data.snr, "snr") });
  for (const [name, prediction] of Object.entries(WEIGHTS)) {
    if (data[name] === undefined) continue;
    const gamma = data.min_snr_gamma;
    if (typeof gamma !== "number") throw new Error(`min_snr_gamma ${JSON.stringify(gamma)} is not a number`);
    checks.push({
      name,
      got: minSnrWeights(ratio, gamma, prediction),
      want: parseNumberArray(data[name], name),
    });
  }
  if (checks.length === 0)
    return { ok: false, detail: `case has none of snr, ${Object.keys(WEIGHTS).join(", ")}` };
  return checkArrays(checks, tol);
};

registerKind("loss-weights", checkLossWeights);
