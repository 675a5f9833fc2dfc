/**
 * Golden kind `forward-process`: a case holds a scheduler `config`, `shape`, `x0`, `noise`, per-batch
 * `timesteps`, and the reference `x_t` = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise and v-target
 * `velocity` = sqrt(abar_t) noise - sqrt(1 - abar_t) x0.
 */
import { addNoise, velocityTarget } from "../../diffusion/forward.js";
import { alphasCumprod, type BetaScheduleConfig, betasFor } from "../../diffusion/schedules.js";
import * as T from "../../tensor/index.js";
import { type ArrayCheck, checkArrays, parseNumberArray, parseTolerance } from "../compare.js";
import { type CaseHandler, registerKind } from "../registry.js";

function objectField(data: Record<string, unknown>, field: string): Record<string, unknown> {
  const value = data[field];
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${field} ${JSON.stringify(value)} is not an object`);
  }
  return value as Record<string, unknown>;
}

export const checkForwardProcess: CaseHandler = async (data) => {
  const tol = parseTolerance(data.tolerance);
  const abar = alphasCumprod(betasFor(objectField(data, "config") as BetaScheduleConfig));
  const shape = parseNumberArray(data.shape, "shape");
  const x0 = T.tensor(parseNumberArray(data.x0, "x0"), shape);
  const noise = T.tensor(parseNumberArray(data.noise, "noise"), shape);
  const timesteps = parseNumberArray(data.timesteps, "timesteps");
  const checks: ArrayCheck[] = [];
  if (data.x_t !== undefined) {
    checks.push({
      name: "x_t",
      got: addNoise(x0, noise, timesteps, abar).values(),
      want: parseNumberArray(data.x_t, "x_t"),
    });
  }
  if (data.velocity !== undefined) {
    const got = velocityTarget(x0, noise, timesteps, abar).values();
    checks.push({ name: "velocity", got, want: parseNumberArray(data.velocity, "velocity") });
  }
  if (checks.length === 0) return { ok: false, detail: "case has neither x_t nor velocity" };
  return checkArrays(checks, tol);
};

registerKind("forward-process", checkForwardProcess);
