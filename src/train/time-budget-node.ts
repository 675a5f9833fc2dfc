/**
 * Training for a wall-clock budget (`diffuse train --minutes M`, `npm run bench:quality -- --minutes M`):
 * the step count that makes the real configuration take about M minutes on this machine, now.
 *
 * Steps 10..30 of the configuration itself are timed in its own run folder (after the compile, the
 * first data batches and, for a latent run, the latent cache, which the real run then reuses): no
 * validation, grids or checkpoints, so the rate is the optimizer steps' alone. The timing run leaves
 * no checkpoint; the real run replaces its log. The learning-rate schedule then spans the steps
 * found, so a budgeted run decays its rate to the end as a run of that many steps does.
 */
import type { TrainConfig } from "./config.js";
import { readLog } from "./run-log-node.js";
import { type RunOptions, runTraining } from "./run-node.js";

/** The steps of a budget and the rate they were computed from. */
export interface BudgetSteps {
  steps: number;
  secondsPerStep: number;
}

const SETTLE = 10;
const TIMED = 20;

/** Times steps 10..30 of `partial` in its `out` folder and returns the steps that fill `minutes`. */
export async function stepsForMinutes(
  partial: Partial<TrainConfig>,
  minutes: number,
  options: Pick<RunOptions, "overwrite" | "maxMemory" | "signal"> = {},
): Promise<BudgetSteps> {
  if (!(Number.isFinite(minutes) && minutes > 0)) {
    throw new Error(`minutes: ${minutes} is not a number > 0`);
  }
  if (partial.out === undefined) throw new Error("minutes: the run needs an out folder to time its steps in");
  await runTraining(
    { ...partial, steps: 100_000, logEvery: 1, validEvery: 0, sampleEvery: 0, checkpointEvery: 0 },
    { ...options, haltAfter: SETTLE + TIMED, progress: { write: () => true, isTTY: false } },
  );
  const time = new Map((await readLog(partial.out)).map((r) => [r.step, r.time]));
  const from = time.get(SETTLE);
  const to = time.get(SETTLE + TIMED);
  if (from === undefined || to === undefined) {
    throw new Error(
      `minutes: the timing run in ${partial.out} logged no time for steps ${SETTLE} and ${SETTLE + TIMED}`,
    );
  }
  const secondsPerStep = (to - from) / TIMED;
  return { steps: Math.max(SETTLE, Math.round((minutes * 60) / secondsPerStep)), secondsPerStep };
}
