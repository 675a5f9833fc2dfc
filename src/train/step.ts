/**
 * The training step as one pure function of tensor trees:
 *
 *   (params, optState, ema, batch, lr) -> { params, optState, ema, loss, gradNorm }
 *
 * doing value-and-grad of the loss -> global-norm clipping -> AdamW -> EMA. It runs eagerly, and
 * `T.compile(makeTrainStep(...))` traces the forward pass, the backward pass and the update into one
 * ONNX graph. The learning rate is an input (a float32 scalar tensor from `lrSchedule`), so the compiled
 * step serves every step of the schedule.
 *
 * Gradient accumulation (accelerate's `gradient_accumulation_steps`) uses two more pure functions, each
 * compilable on its own:
 *   acc = step.initAccumulator(params)
 *   acc = step.accumulate(params, acc, microBatch)        k times: sums grads and losses
 *   out = step.applyAccumulated(params, optState, ema, acc, lr)
 * `applyAccumulated` averages the sums over the k micro-batches (accelerate divides each micro-batch loss
 * by k) and then clips and updates exactly like the single step, which is the same function applied to
 * one micro-batch.
 */
import * as T from "../tensor/index.js";
import { type EmaSchedule, type EmaState, emaUpdate } from "./ema.js";
import { type AdamWOptions, type AdamWState, adamwStep } from "./optim/adamw.js";
import { clipGradNorm, globalNorm } from "./optim/clip.js";

/** A scalar loss of the parameters and a batch (any tree of tensors). */
export type LossFn<P, B> = (params: P, batch: B) => T.Tensor;

export interface TrainStepOptions {
  /** AdamW hyper-parameters other than the learning rate (an argument of the step). */
  optimizer?: Omit<AdamWOptions, "lr">;
  /** Clip the global gradient norm to this value (torch's clip_grad_norm_); none when absent. */
  maxGradNorm?: number;
  /** EMA schedule; when absent the `ema` argument is returned unchanged (pass `{}`: `NO_EMA`). */
  ema?: EmaSchedule;
}

/** The EMA argument of a step: a state from `initEma`, or `{}` when the step keeps no EMA. */
export type MaybeEma<P> = EmaState<P> | Record<string, never>;

/** The `ema` argument of a step built without an EMA schedule. */
export const NO_EMA: Record<string, never> = Object.freeze({});

export interface TrainStepResult<P, E extends MaybeEma<P> = EmaState<P>> {
  params: P;
  optState: AdamWState<P>;
  ema: E;
  /** The (mean) loss at the parameters before the update. */
  loss: T.Tensor;
  /** The global gradient norm before clipping. */
  gradNorm: T.Tensor;
}

/** Sums over micro-batches: gradients, losses and the micro-batch count (float32 scalars). */
export interface GradAccumulator<P> {
  grads: P;
  loss: T.Tensor;
  count: T.Tensor;
}

/** The step, and the accumulation pair; E is the EMA state type (`{}` for a step without EMA). */
export interface TrainStep<P, B, E extends MaybeEma<P> = EmaState<P>> {
  (params: P, optState: AdamWState<P>, ema: E, batch: B, lr: T.Tensor | number): TrainStepResult<P, E>;
  /** Zero sums shaped like `params`. */
  initAccumulator(params: P): GradAccumulator<P>;
  /** Adds the loss and gradients of one micro-batch to `acc`. */
  accumulate(params: P, acc: GradAccumulator<P>, batch: B): GradAccumulator<P>;
  /** The update from the mean of the accumulated gradients. */
  applyAccumulated(
    params: P,
    optState: AdamWState<P>,
    ema: E,
    acc: GradAccumulator<P>,
    lr: T.Tensor | number,
  ): TrainStepResult<P, E>;
}

function requireEma<P>(ema: MaybeEma<P>): EmaState<P> {
  if (!("step" in ema && "params" in ema))
    throw new TypeError("train step: ema is {} but the step has an EMA schedule; pass initEma(params)");
  return ema as EmaState<P>;
}

export function makeTrainStep<P, B>(
  lossFn: LossFn<P, B>,
  options: TrainStepOptions & { ema: EmaSchedule },
): TrainStep<P, B, EmaState<P>>;
export function makeTrainStep<P, B>(
  lossFn: LossFn<P, B>,
  options?: TrainStepOptions,
): TrainStep<P, B, MaybeEma<P>>;
export function makeTrainStep<P, B, E extends MaybeEma<P>>(
  lossFn: LossFn<P, B>,
  options: TrainStepOptions = {},
): TrainStep<P, B, E> {
  const valueAndGrad = T.valueAndGrad(lossFn);

  /** clip -> AdamW -> EMA, shared by the single step and the accumulated one. */
  const update = (
    params: P,
    optState: AdamWState<P>,
    ema: E,
    grads: P,
    loss: T.Tensor,
    lr: T.Tensor | number,
  ): TrainStepResult<P, E> => {
    const clipped =
      options.maxGradNorm === undefined
        ? { grads, norm: globalNorm(grads) }
        : clipGradNorm(grads, options.maxGradNorm);
    const next = adamwStep(params, clipped.grads, optState, { ...options.optimizer, lr });
    return {
      params: next.params,
      optState: next.state,
      ema: options.ema ? (emaUpdate(requireEma(ema), next.params, options.ema) as E) : ema,
      loss,
      gradNorm: clipped.norm,
    };
  };

  const step = (params: P, optState: AdamWState<P>, ema: E, batch: B, lr: T.Tensor | number) => {
    const { value, grads } = valueAndGrad(params, batch);
    return update(params, optState, ema, grads, T.reshape(value, []), lr);
  };

  const initAccumulator = (params: P): GradAccumulator<P> => ({
    grads: T.mapTree(T.zerosLike, params),
    loss: T.scalar(0),
    count: T.scalar(0),
  });

  const accumulate = (params: P, acc: GradAccumulator<P>, batch: B): GradAccumulator<P> => {
    const { value, grads } = valueAndGrad(params, batch);
    return {
      grads: T.mapTree(T.add, acc.grads, grads),
      loss: T.add(acc.loss, T.reshape(value, [])),
      count: T.add(acc.count, 1),
    };
  };

  const applyAccumulated = (
    params: P,
    optState: AdamWState<P>,
    ema: E,
    acc: GradAccumulator<P>,
    lr: T.Tensor | number,
  ) => {
    const mean = (x: T.Tensor) => T.div(x, acc.count);
    return update(params, optState, ema, T.mapTree(mean, acc.grads), mean(acc.loss), lr);
  };

  return Object.assign(step, { initAccumulator, accumulate, applyAccumulated });
}
