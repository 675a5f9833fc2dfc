/**
 * Why a training run stops before its end, other than an error (issue 17): a signal (the CLI aborts
 * the run's AbortSignal on SIGINT / SIGTERM: InterruptedError, after a checkpoint) or divergence
 * (`maxBadSteps` consecutive steps with a non-finite loss or gradient norm: DivergedError, keeping
 * the last good checkpoint). Browser-safe.
 */

import type { TrainConfig } from "./config.js";
import type { Progress } from "./progress.js";
import type { StepRecord } from "./trainer.js";

/** Exit codes of a process stopped by a signal (128 + the signal's number, the shells' convention). */
export const SIGNAL_EXIT_CODES: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

/** The run was stopped by `options.signal` after writing a checkpoint; `exitCode` for the process. */
export class InterruptedError extends Error {
  override name = "Interrupted";
  constructor(
    message: string,
    readonly signal: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** `maxBadSteps` consecutive steps had a non-finite loss or gradient norm, or the weights did. */
export class DivergedError extends Error {
  override name = "DivergedError";
}

/** Reports a skipped step; throws a DivergedError at `maxBadSteps` of them in a row. */
export function checkBadSteps(
  rec: StepRecord,
  badSteps: number,
  config: TrainConfig,
  progress: Progress,
  kept: () => string,
): void {
  const what = `loss ${rec.loss}, gradient norm ${rec.gradNorm}`;
  const limit = config.maxBadSteps;
  progress.message(
    `step ${rec.step}: ${what}: update skipped (${badSteps} in a row${limit > 0 ? `; the run stops at ${limit}` : ""})`,
  );
  if (limit > 0 && badSteps >= limit) {
    throw new DivergedError(
      `training diverged at step ${rec.step}: ${badSteps} consecutive steps (${rec.step - badSteps + 1}..${rec.step}) had a non-finite loss or gradient norm (last: ${what}); their updates were skipped and the run stopped (--max-bad-steps ${limit}); ${kept()}. Try a lower --lr (now ${config.lr})${config.maxGradNorm > 0 ? "" : " or --max-grad-norm 1"}.`,
    );
  }
}
