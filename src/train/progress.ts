/**
 * A progress display for the training loop: step, smoothed loss, steps/s and ETA. The loss shown is an
 * exponential moving average (weight 0.1 on each new step's loss) and says so ("loss (ema)"), since a
 * single step's loss is noisy and the number would otherwise be mistaken for it. On a terminal it redraws one
 * line (`\r`, a bar of block characters); otherwise (a pipe, a CI log) it prints plain lines, one per
 * update. Writes go to an injected sink (stderr in the CLI), so this file is browser-safe.
 */

export interface ProgressSink {
  write(text: string): unknown;
  /** True when the sink is an interactive terminal. */
  readonly isTTY?: boolean;
  /** Terminal width in characters, where known. */
  readonly columns?: number;
}

/** "1h02m", "3m05s", "42s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** A loss with 4 significant digits. */
export function formatLoss(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(4) : String(x);
}

export class Progress {
  private readonly started: number;
  private readonly startStep: number;
  private lastLength = 0;
  private smoothed: number | null = null;

  /**
   * `total`: the last step; `startStep`: where this session starts (a resumed run measures its speed
   * from there); `now`: a clock in seconds (injectable for tests).
   */
  constructor(
    private readonly sink: ProgressSink,
    private readonly total: number,
    startStep = 0,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {
    this.started = now();
    this.startStep = startStep;
  }

  /** The text of one update (without line control); without a loss (sampling), the step and speed. */
  line(step: number, loss?: number, extra = ""): string {
    if (loss !== undefined) this.smoothed = this.smoothed === null ? loss : 0.9 * this.smoothed + 0.1 * loss;
    const elapsed = this.now() - this.started;
    const done = step - this.startStep;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (this.total - step) / rate : Number.NaN;
    const width = String(this.total).length;
    const parts = [
      `step ${String(step).padStart(width)}/${this.total}`,
      ...(loss !== undefined ? [`loss (ema) ${formatLoss(this.smoothed!)}`] : []),
      `${rate >= 10 ? rate.toFixed(1) : rate.toFixed(2)} steps/s`,
      `ETA ${formatDuration(eta)}`,
    ];
    if (extra) parts.push(extra);
    return parts.join(" | ");
  }

  /** Shows step `step` with its loss (if any); `extra` is appended (e.g. a validation loss). */
  update(step: number, loss?: number, extra = ""): void {
    const text = this.line(step, loss, extra);
    if (!this.sink.isTTY) {
      this.sink.write(`${text}\n`);
      return;
    }
    const cols = this.sink.columns ?? 100;
    const barWidth = Math.max(0, Math.min(30, cols - text.length - 4));
    const filled = Math.round((barWidth * step) / Math.max(1, this.total));
    const bar = barWidth > 0 ? `[${"#".repeat(filled)}${".".repeat(barWidth - filled)}] ` : "";
    const full = `${bar}${text}`;
    this.sink.write(`\r${full}${" ".repeat(Math.max(0, this.lastLength - full.length))}`);
    this.lastLength = full.length;
  }

  /** A message on its own line (the bar is redrawn by the next update). */
  message(text: string): void {
    if (this.sink.isTTY && this.lastLength > 0) this.sink.write("\n");
    this.lastLength = 0;
    this.sink.write(`${text}\n`);
  }

  /** Ends the bar's line. */
  finish(): void {
    if (this.sink.isTTY && this.lastLength > 0) this.sink.write("\n");
    this.lastLength = 0;
  }
}
