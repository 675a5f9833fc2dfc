/**
 * Golden kind `optimizer`: PyTorch's AdamW (`optimizer`: name "AdamW", lr, betas, eps, weight_decay)
 * from parameters `p0`, fed the gradients `grads[k]` at step k, with global-norm clipping to
 * `clip_grad_norm` before each step (optional), the learning rate from `lr_schedule` (name,
 * warmup_steps, total_steps; constant when absent) and an EMA of decay `ema_decay` updated after each
 * step. Checked per step: `lr_used`, `clipped_grads`, `params` and `ema`.
 *
 * The step run is `makeTrainStep` itself, with the loss `sum(p * g)` whose gradient is exactly g, so the
 * case checks the whole training step (clip -> AdamW -> EMA), eagerly or as one compiled ONNX graph.
 * `p0` is a flat array (one parameter) or an array of flat arrays (several, clipped by their global norm).
 */
import { nodeOrt } from "../../onnx/node.js";
import * as T from "../../tensor/index.js";
import { initEma } from "../../train/ema.js";
import { type AdamWState, initAdamW } from "../../train/optim/adamw.js";
import { clipGradNorm } from "../../train/optim/clip.js";
import { type LrScheduleConfig, lrSchedule, lrScheduleFromName } from "../../train/optim/lr-schedule.js";
import { type MaybeEma, makeTrainStep, type TrainStepOptions } from "../../train/step.js";
import { type ArrayCheck, checkArrays, parseNumberArray, parseTolerance } from "../compare.js";
import { type CaseHandler, registerKind } from "../registry.js";

type Params = T.Tensor[];

function objectField(data: Record<string, unknown>, field: string): Record<string, unknown> {
  const value = data[field];
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new Error(`${field} ${JSON.stringify(value)} is not an object`);
  return value as Record<string, unknown>;
}

function numberField(data: Record<string, unknown>, field: string): number {
  const value = data[field];
  if (typeof value !== "number") throw new Error(`${field} ${JSON.stringify(value)} is not a number`);
  return value;
}

/** A parameter list from a flat array (one tensor) or an array of flat arrays. */
function paramList(value: unknown, field: string): number[][] {
  if (Array.isArray(value) && value.length > 0 && value.every(Array.isArray))
    return value.map((v, i) => parseNumberArray(v, `${field}[${i}]`));
  return [parseNumberArray(value, field)];
}

/** Per-step lists of parameter lists, `steps` long. */
function perStep(data: Record<string, unknown>, field: string, steps: number): number[][][] {
  const value = data[field];
  if (!Array.isArray(value) || value.length !== steps)
    throw new Error(`${field} is not an array of ${steps} steps (one per entry of grads)`);
  return value.map((v, k) => paramList(v, `${field}[${k}]`));
}

function trainOptions(data: Record<string, unknown>): TrainStepOptions & { lr: LrScheduleConfig } {
  const opt = objectField(data, "optimizer");
  if (opt.name !== "AdamW") throw new Error(`optimizer.name ${JSON.stringify(opt.name)} is not "AdamW"`);
  const betas = parseNumberArray(opt.betas, "optimizer.betas");
  if (betas.length !== 2) throw new Error(`optimizer.betas has ${betas.length} entries, expected 2`);
  const lr = numberField(opt, "lr");
  const schedule = data.lr_schedule === undefined ? { name: "constant" } : objectField(data, "lr_schedule");
  return {
    lr: lrScheduleFromName(String(schedule.name), {
      lr,
      warmupSteps: schedule.warmup_steps as number | undefined,
      totalSteps: schedule.total_steps as number | undefined,
      numCycles: schedule.num_cycles as number | undefined,
    }),
    optimizer: {
      betas: [betas[0], betas[1]],
      eps: numberField(opt, "eps"),
      weightDecay: numberField(opt, "weight_decay"),
    },
    maxGradNorm: data.clip_grad_norm === undefined ? undefined : numberField(data, "clip_grad_norm"),
    ema: { kind: "constant", decay: numberField(data, "ema_decay") },
  };
}

export const checkOptimizer: CaseHandler = async (data, ctx) => {
  const tol = parseTolerance(data.tolerance);
  const options = trainOptions(data);
  const p0 = paramList(data.p0, "p0");
  if (!Array.isArray(data.grads)) throw new Error("grads is not an array of per-step gradients");
  const steps = data.grads.length;
  const [grads, clipped, params, ema] = ["grads", "clipped_grads", "params", "ema"].map((f) =>
    perStep(data, f, steps),
  );
  const lrUsed = parseNumberArray(data.lr_used, "lr_used");
  const toTensors = (arrays: number[][]): Params => arrays.map((a) => T.tensor(a, [a.length]));

  const trainStep = makeTrainStep(
    (p: Params, g: Params) => p.reduce((acc, pi, i) => T.add(acc, T.sum(T.mul(pi, g[i]))), T.scalar(0)),
    options,
  );
  const maxNorm = options.maxGradNorm;
  const step = (p: Params, opt: AdamWState<Params>, e: MaybeEma<Params>, g: Params, lr: T.Tensor) => ({
    ...trainStep(p, opt, e, g, lr),
    clipped: maxNorm === undefined ? g : clipGradNorm(g, maxNorm).grads,
  });
  if (ctx.mode === "compiled") T.setDefaultRuntime(nodeOrt);
  const run = ctx.mode === "compiled" ? T.compile(step, { threads: 1 }) : step;

  const lr = lrSchedule(options.lr);
  let state = {
    p: toTensors(p0),
    opt: initAdamW(toTensors(p0)),
    ema: initEma(toTensors(p0)) as MaybeEma<Params>,
  };
  const flat = (ts: Params) => ts.flatMap((t) => t.toArray());
  const checks: ArrayCheck[] = [{ name: "lr_used", got: lrUsed.map((_, k) => lr(k)), want: lrUsed }];
  for (let k = 0; k < steps; k++) {
    const out = await run(state.p, state.opt, state.ema, toTensors(grads[k]), T.scalar(lr(k)));
    state = { p: out.params, opt: out.optState, ema: out.ema };
    const shadow = (out.ema as { params: Params }).params;
    checks.push(
      { name: `clipped_grads[${k}]`, got: flat(out.clipped), want: clipped[k].flat() },
      { name: `params[${k}]`, got: flat(out.params), want: params[k].flat() },
      { name: `ema[${k}]`, got: flat(shadow), want: ema[k].flat() },
    );
  }
  return checkArrays(checks, tol);
};

registerKind("optimizer", checkOptimizer);
