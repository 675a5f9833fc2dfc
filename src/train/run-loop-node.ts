/**
 * The step loop of a training run on files (Node only), shared by every model type that trains
 * through a `TrainState` (trainer.ts): the autoencoder (vae-run-node.ts) uses it; run-node.ts and
 * classifier-run-node.ts hold older copies of the same loop (to be moved onto this one).
 *
 *   while step < steps:
 *     stop if the AbortSignal fired (checkpoint first, then InterruptedError)
 *     record = trainer.trainOneStep()                      compiled step; non-finite steps skipped
 *     log.jsonl + progress every logEvery steps (and every skipped step)
 *     maxBadSteps skipped steps in a row -> DivergedError (the last good checkpoint is kept)
 *     hooks.validate / hooks.sample every validEvery / sampleEvery steps (not at the last step)
 *     checkpoint every checkpointEvery steps (never right after a skipped step)
 *   final: checkpoint (unless just written), then the caller's final phase
 *
 * Checkpoints are atomic (checkpoint-node.ts), so a run killed anywhere resumes from the last one.
 */
import { appendFile } from "node:fs/promises";
import { NonFiniteError } from "../nn/finite.js";
import { checkpointPath, saveCheckpoint } from "./checkpoint-node.js";
import type { TrainConfig } from "./config.js";
import type { Progress } from "./progress.js";
import { checkBadSteps, DivergedError, InterruptedError, SIGNAL_EXIT_CODES } from "./run-stop.js";
import type { StepRecord, TrainState } from "./trainer.js";

/** What the loop needs of a trainer. */
export interface LoopTrainer {
  readonly step: number;
  trainOneStep(): Promise<StepRecord>;
  snapshot(): TrainState;
}

/** The loop's cadence and limits (fields of the run's config). */
export interface LoopSettings {
  steps: number;
  logEvery: number;
  validEvery: number;
  sampleEvery: number;
  checkpointEvery: number;
  maxBadSteps: number;
  lr: number;
  maxGradNorm: number;
}

export interface LoopOptions {
  out: string;
  logFile: string;
  progress: Progress;
  /** Run config and model config stored in the checkpoint. */
  checkpointInfo: () => { config: TrainConfig; model: Record<string, unknown> };
  /** Seconds of training over all sessions. */
  elapsed: () => number;
  /** The command that resumes the run, for the interruption message. */
  resumeCommand: string;
  /** The step of the checkpoint the run resumed from (null for a fresh run). */
  resumedAt: number | null;
  signal?: AbortSignal;
  haltAfter?: number;
  validate?: (step: number) => Promise<void>;
  sample?: (step: number) => Promise<void>;
}

/** The loop of one run (see the file comment). */
export class RunLoop {
  private lastCheckpoint: number | null;
  private badSteps = 0;
  /** Loss of the last step taken. */
  loss = Number.NaN;

  constructor(
    private readonly trainer: LoopTrainer,
    private readonly settings: LoopSettings,
    private readonly o: LoopOptions,
  ) {
    this.lastCheckpoint = o.resumedAt;
  }

  private kept(): string {
    return this.lastCheckpoint === null
      ? "no checkpoint was written"
      : `the last good checkpoint (step ${this.lastCheckpoint}) is kept in ${checkpointPath(this.o.out)}`;
  }

  /** Writes the checkpoint of the current step (a non-finite state is refused: DivergedError). */
  async checkpoint(): Promise<void> {
    try {
      await saveCheckpoint(this.o.out, this.trainer.snapshot(), {
        ...this.o.checkpointInfo(),
        elapsed: this.o.elapsed(),
      });
    } catch (e) {
      if (e instanceof NonFiniteError) throw new DivergedError(`${e.message}; ${this.kept()}`);
      throw e;
    }
    this.lastCheckpoint = this.trainer.step;
  }

  /** At a step boundary: when the run was asked to stop, checkpoint (unless just done) and throw. */
  async stopIfAborted(): Promise<void> {
    const { signal, progress } = this.o;
    if (!signal?.aborted) return;
    const step = this.trainer.step;
    if (this.lastCheckpoint !== step && this.badSteps === 0) await this.checkpoint();
    progress.finish();
    const name = String(signal.reason ?? "abort");
    const where =
      this.lastCheckpoint === step
        ? `checkpoint written to ${checkpointPath(this.o.out)}`
        : `no checkpoint written (the last step was non-finite); ${this.kept()}`;
    throw new InterruptedError(
      `${name} at step ${step} of ${this.settings.steps}: ${where}; resume with: ${this.o.resumeCommand}`,
      name,
      SIGNAL_EXIT_CODES[name] ?? 130,
    );
  }

  /**
   * Trains to `settings.steps` (or `haltAfter`: returns true, as if killed there); then writes the
   * final checkpoint and returns false.
   */
  async run(): Promise<boolean> {
    const s = this.settings;
    const { progress } = this.o;
    while (this.trainer.step < s.steps) {
      await this.stopIfAborted();
      const rec = await this.trainer.trainOneStep();
      this.loss = rec.loss;
      const step = rec.step;
      const at = (every: number) => every > 0 && step % every === 0 && step < s.steps;
      if (rec.skipped || step % s.logEvery === 0 || step === s.steps) {
        const r = {
          step,
          loss: rec.loss,
          lr: rec.lr,
          gradNorm: rec.gradNorm,
          epoch: rec.epoch,
          time: this.o.elapsed(),
        };
        await appendFile(this.o.logFile, `${JSON.stringify(rec.skipped ? { ...r, skipped: 1 } : r)}\n`);
        progress.update(step, rec.loss);
      }
      this.badSteps = rec.skipped ? this.badSteps + 1 : 0;
      if (rec.skipped)
        checkBadSteps(rec, this.badSteps, s as unknown as TrainConfig, progress, () => this.kept());
      if (at(s.validEvery) && this.o.validate) await this.o.validate(step);
      if (at(s.sampleEvery) && this.o.sample) await this.o.sample(step);
      if (at(s.checkpointEvery)) {
        if (this.badSteps === 0) await this.checkpoint();
        else progress.message(`step ${step}: checkpoint not written (the step was skipped as non-finite)`);
      }
      if (this.o.haltAfter !== undefined && step >= this.o.haltAfter) {
        progress.finish();
        return true;
      }
    }
    progress.finish();
    if (this.lastCheckpoint !== this.trainer.step) await this.checkpoint();
    await this.stopIfAborted();
    return false;
  }
}
