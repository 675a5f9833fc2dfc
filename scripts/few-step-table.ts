/**
 * The MNIST table of issue 13 (few-step generation), one row per command:
 *
 *   npx tsx scripts/few-step-table.ts --row ROW --teacher DIR [--work DIR] [--num-samples N]
 *       [--ref-count N] [--batch-size B] [--seed S] [--threads T] [--rows FILE] [--readme FILE]
 *
 *   ROW  what it trains (CLI command, FEW_STEP_ROWS)                          samples with
 *   teacher-ddpm1000  nothing: the teacher                                     DDPM 1000
 *   teacher-dpm20     nothing: the teacher                                     DPM-Solver++ 20
 *   flow              diffuse train --objective flow (the teacher's preset)    flow Euler 1, 2, 4, 20
 *   reflow            diffuse distill --method reflow from <work>/flow         flow Euler 1, 2
 *   reflow-stage2     diffuse distill --method reflow --stage 2 from <work>/reflow   flow Euler 1, 2
 *   cd                diffuse distill --method consistency from the teacher    consistency 1, 2, 4
 *   ct                diffuse train --objective consistency                    consistency 1, 2
 *
 * Flow Euler is `flow_euler` (uniform steps from t = 1 to 0): diffusers' FlowMatchEulerDiscreteScheduler
 * (`flow_match_euler`) spaces its grid from sigma 1 to sigma_min = 1/T, so its 2 steps are one step
 * and a step of 1/T (a first run of this table measured FID 94.96 and 94.85 for its 1 and 2 steps).
 *
 * A row's model goes to <work>/<row> (default work: runs/few-step). A finished model there is reused
 * (its training seconds come from its log), an unfinished run is resumed (--resume), so a row can be
 * evaluated again or continued after a stop. Each sampler configuration is evaluated as
 * `npm run bench:quality` evaluates (bench/quality.ts: the same seeded noise batches as `diffuse
 * sample`, labels 0..9 cyclic, conditional without guidance, w = 1, since the students learn the
 * conditional teacher; FID, KID, precision/recall and the feature net's class accuracy against
 * --ref-count MNIST test images). Seconds per sample: sampling alone (after the graph is compiled).
 *
 * Each entry (row, method, sampler, steps, NFE, metrics, training seconds, seconds per sample,
 * samples, guidance, the command, the machine's load) replaces the entry of the same row and steps in
 * docs/few-step-table.json, and the README table between the few-step-table markers is regenerated
 * from all entries (bench/table-rows.ts, shared with bench:quality's lever table).
 */
import { existsSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { rowMetrics, runOfFolder, runQualityBench } from "../bench/quality.js";
import { readJsonRows, type TableMarkers, writeRowsAndTable } from "../bench/table-rows.js";
import { main } from "../src/cli/main.js";
import { loadPipeline } from "../src/pipelines/pipeline-node.js";
import { pipelineStraightness } from "../src/pipelines/straightness.js";
import { checkpointPath } from "../src/train/checkpoint-node.js";

export const ROW_NAMES = [
  "teacher-ddpm1000",
  "teacher-dpm20",
  "flow",
  "reflow",
  "reflow-stage2",
  "cd",
  "ct",
] as const;
export type RowName = (typeof ROW_NAMES)[number];

/** Where a row's command reads from: the teacher folder and the work folder. */
export interface RowContext {
  teacher: string;
  work: string;
  threads: number;
}

export interface RowPreset {
  /** The table's "method" column. */
  method: string;
  sampler: string;
  steps: number[];
  /** Samples evaluated by default (DDPM 1000 fewer: 1000 network evaluations each). */
  numSamples: number;
  /** A row whose model another row trains into <work> (run that row first). */
  needs?: RowName;
  /** The `diffuse` command (argv after "diffuse") that trains the row's model into <work>/<row>. */
  train?: (c: RowContext, out: string) => string[];
  /** The training budget on 2 cores (the issue: under 30 minutes each): see `budgetMinutes`. */
  budget?: Budget;
}

/**
 * A training preset's estimated cost on a quiet 2-core machine: `steps` optimizer steps of
 * `forwards` forward-pass equivalents each (a forward + backward counts 3; a teacher or target
 * forward 1), plus `extraForwards` per-sample forwards (the reflow couplings: pairs x Euler steps).
 * The unit is the README default run's measured step, TEACHER_STEP_SECONDS for 3 forwards at batch
 * 32, so one forward of one sample costs TEACHER_STEP_SECONDS / 3 / 32.
 */
export interface Budget {
  steps: number;
  forwards: number;
  extraForwards?: number;
}

/**
 * Seconds per training step of the README's default run (unet28-cond, batch 32, 2 cores of an AMD
 * EPYC, Zen 5, quiet): 1612 s for 2500 steps.
 */
export const TEACHER_STEP_SECONDS = 1612 / 2500;

/** The estimated minutes of a budget (see Budget). */
export function budgetMinutes(b: Budget): number {
  const step = (b.forwards / 3) * TEACHER_STEP_SECONDS;
  const perSampleForward = TEACHER_STEP_SECONDS / 3 / 32;
  return (b.steps * step + (b.extraForwards ?? 0) * perSampleForward) / 60;
}

const common = (c: RowContext, out: string) => ["--out", out, "--threads", String(c.threads)];
/** The teacher's preset and batch (the README's default run: unet28-cond, batch 32). */
const MNIST = ["--dataset", "mnist", "--class-conditional", "--batch-size", "32"];

const FLOW_STEPS = 2000;
const REFLOW_PAIRS = 2000;
const REFLOW_PAIR_STEPS = 20;
const REFLOW_STEPS = 1000;

/** `diffuse distill --method reflow` from `teacher` with the reflow presets (stage 1, or stage 2 via `stage`). */
function reflowArgs(teacher: string, stage: string[], common: string[]): string[] {
  return [
    "distill",
    "--teacher",
    teacher,
    "--method",
    "reflow",
    ...stage,
    "--pairs",
    String(REFLOW_PAIRS),
    "--pair-steps",
    String(REFLOW_PAIR_STEPS),
    "--steps",
    String(REFLOW_STEPS),
    "--batch-size",
    "32",
    "--lr",
    "2e-4",
    "--warmup-steps",
    "50",
    "--checkpoint-every",
    "200",
    ...common,
  ];
}
const CD_STEPS = 1000;
const CT_STEPS = 1500;

/** The presets this project ships for the table (their budgets: README, "The MNIST table"). */
export const FEW_STEP_ROWS: Record<RowName, RowPreset> = {
  "teacher-ddpm1000": { method: "teacher", sampler: "ddpm", steps: [1000], numSamples: 200 },
  "teacher-dpm20": { method: "teacher", sampler: "dpmsolver++", steps: [20], numSamples: 500 },
  flow: {
    method: "flow matching",
    sampler: "flow_euler",
    steps: [1, 2, 4, 20],
    numSamples: 500,
    train: (c, out) => [
      "train",
      ...MNIST,
      "--objective",
      "flow",
      "--steps",
      String(FLOW_STEPS),
      "--warmup-steps",
      "100",
      "--checkpoint-every",
      "200",
      ...common(c, out),
    ],
    budget: { steps: FLOW_STEPS, forwards: 3 },
  },
  reflow: {
    method: "reflow (1-rectified, from flow)",
    sampler: "flow_euler",
    steps: [1, 2],
    numSamples: 500,
    needs: "flow",
    train: (c, out) => reflowArgs(join(c.work, "flow"), [], common(c, out)),
    budget: { steps: REFLOW_STEPS, forwards: 3, extraForwards: REFLOW_PAIRS * REFLOW_PAIR_STEPS },
  },
  "reflow-stage2": {
    method: "reflow stage 2 (one-step distillation)",
    sampler: "flow_euler",
    steps: [1, 2],
    numSamples: 500,
    needs: "reflow",
    train: (c, out) => reflowArgs(join(c.work, "reflow"), ["--stage", "2"], common(c, out)),
    budget: { steps: REFLOW_STEPS, forwards: 3, extraForwards: REFLOW_PAIRS * REFLOW_PAIR_STEPS },
  },
  cd: {
    method: "consistency distillation",
    sampler: "consistency",
    steps: [1, 2, 4],
    numSamples: 500,
    train: (c, out) => [
      "distill",
      "--teacher",
      c.teacher,
      "--method",
      "consistency",
      "--steps",
      String(CD_STEPS),
      "--batch-size",
      "32",
      "--lr",
      "2e-4",
      "--warmup-steps",
      "20",
      "--checkpoint-every",
      "100",
      ...common(c, out),
    ],
    // Student forward + backward (3), the teacher's DDIM step (1) and the target's forward (1).
    budget: { steps: CD_STEPS, forwards: 5 },
  },
  ct: {
    method: "consistency training",
    sampler: "consistency",
    steps: [1, 2],
    numSamples: 500,
    train: (c, out) => [
      "train",
      ...MNIST,
      "--objective",
      "consistency",
      "--steps",
      String(CT_STEPS),
      "--warmup-steps",
      "100",
      "--checkpoint-every",
      "200",
      ...common(c, out),
    ],
    // Student forward + backward (3) and the stop-gradient target's forward (1).
    budget: { steps: CT_STEPS, forwards: 4 },
  },
};

/** One measured entry of the table (a row's model at one step count). */
export interface FewStepEntry {
  row: RowName;
  method: string;
  sampler: string;
  steps: number;
  nfe: number;
  fid: number;
  kid: number;
  kidStderr: number;
  precision: number;
  recall: number;
  accuracy: number | null;
  /** Seconds of training of the row's model (its log), null for the teacher rows. */
  trainingSeconds: number | null;
  /**
   * Wall-clock seconds of the training command when this invocation ran it (data loading, graph
   * compilation and reflow's coupling draws included); absent when the model was reused.
   */
  commandSeconds?: number;
  /** Training steps of the row's model (null: the teacher). */
  trainSteps: number | null;
  /** Sampling seconds per sample (sampling alone, after the compile). */
  secondsPerSample: number;
  samples: number;
  referenceCount: number;
  guidanceScale: number;
  seed: number;
  /** The `diffuse` command that trained the model (null: the teacher, or a model already there). */
  command: string | null;
  /**
   * Flow rows: the straightness of the model's Euler paths (`pipelineStraightness`: 100 seeded
   * trajectories of 50 steps, per pixel); absent for the other rows.
   */
  straightness?: number;
  /** The 1-minute load average when the entry was measured (the machine may have been shared). */
  load: number;
  date: string;
}

export const TABLE_MARKERS: TableMarkers = {
  begin: "<!-- few-step-table:begin -->",
  end: "<!-- few-step-table:end -->",
};

/** Table names of the samplers. */
const SAMPLER_LABELS: Record<string, string> = {
  ddpm: "DDPM",
  "dpmsolver++": "DPM-Solver++ 2M",
  flow_match_euler: "Euler (diffusers grid)",
  flow_euler: "Euler",
  consistency: "consistency",
};

/** The markdown table of the entries, in the order of ROW_NAMES, then by steps. */
export function formatFewStepTable(entries: readonly FewStepEntry[]): string {
  const f = (x: number, d: number) => x.toFixed(d);
  const sorted = [...entries].sort(
    (a, b) => ROW_NAMES.indexOf(a.row) - ROW_NAMES.indexOf(b.row) || a.steps - b.steps,
  );
  return [
    "| row | method | sampler | steps | NFE | FID | KID | precision | recall | accuracy | training s (command s) | s / sample | samples | w | straightness |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...sorted.map(
      (e) =>
        `| ${e.row} | ${e.method} | ${SAMPLER_LABELS[e.sampler] ?? e.sampler} | ${e.steps} | ${e.nfe} | ${f(e.fid, 2)} | ` +
        `${f(e.kid, 2)} ± ${f(e.kidStderr, 2)} | ${f(e.precision, 3)} | ${f(e.recall, 3)} | ` +
        `${e.accuracy === null ? "-" : f(e.accuracy, 3)} | ${e.trainingSeconds === null ? "-" : f(e.trainingSeconds, 0)}` +
        `${e.commandSeconds === undefined ? "" : ` (${f(e.commandSeconds, 0)})`} | ` +
        `${f(e.secondsPerSample, 3)} | ${e.samples} | ${e.guidanceScale} | ` +
        `${e.straightness === undefined ? "-" : f(e.straightness, 4)} |`,
    ),
  ].join("\n");
}

/** `old` with `fresh` in place of the entries of the same row and steps. */
export function mergeEntries(old: readonly FewStepEntry[], fresh: readonly FewStepEntry[]): FewStepEntry[] {
  const key = (e: FewStepEntry) => `${e.row}:${e.steps}`;
  const replaced = new Set(fresh.map(key));
  return [...old.filter((e) => !replaced.has(key(e))), ...fresh];
}

/** Merges `fresh` into the rows file and regenerates the README table; returns all entries. */
export function recordEntries(
  fresh: readonly FewStepEntry[],
  rowsFile: string,
  readme: string,
): FewStepEntry[] {
  const all = mergeEntries(readJsonRows<FewStepEntry>(rowsFile), fresh);
  writeRowsAndTable(all, rowsFile, readme, TABLE_MARKERS, formatFewStepTable);
  return all;
}

export interface TableOptions {
  row: RowName;
  teacher: string;
  work: string;
  numSamples?: number;
  refCount: number;
  batchSize: number;
  seed: number;
  threads: number;
  rowsFile: string;
  readme: string;
  log: (line: string) => void;
}

/** Whether `dir` holds a finished model (model_index.json) and no run left to resume. */
function finished(dir: string): boolean {
  const index = join(dir, "model_index.json");
  if (!existsSync(index)) return false;
  const steps = (JSON.parse(readFileSync(index, "utf8")) as { _diffuse?: { steps?: number } })._diffuse
    ?.steps;
  return typeof steps === "number" && steps > 0;
}

/** Trains the row's model (or reuses / resumes it); returns its folder and the command that ran. */
async function modelOf(
  o: TableOptions,
  preset: RowPreset,
): Promise<{ dir: string; command: string | null; seconds?: number }> {
  if (!preset.train) return { dir: o.teacher, command: null };
  if (preset.needs && !finished(join(o.work, preset.needs))) {
    throw new Error(
      `--row ${o.row}: needs the model of row ${preset.needs} in ${join(o.work, preset.needs)}; run --row ${preset.needs} first`,
    );
  }
  const dir = join(o.work, o.row);
  if (finished(dir)) {
    o.log(`${dir}: a finished model, reused`);
    return { dir, command: null };
  }
  const argv = preset.train({ teacher: o.teacher, work: o.work, threads: o.threads }, dir);
  const resume = existsSync(checkpointPath(dir)) ? ["--resume"] : [];
  const command = `diffuse ${[...argv, ...resume].join(" ")}`;
  const budget = preset.budget
    ? ` (estimated ${budgetMinutes(preset.budget).toFixed(0)} min on a quiet 2-core machine)`
    : "";
  o.log(`${command}${budget}`);
  const started = performance.now();
  const code = await main([...argv, ...resume]);
  if (code !== 0) throw new Error(`${command}: exit code ${code}`);
  return { dir, command, seconds: (performance.now() - started) / 1000 };
}

/** Runs one row: trains its model if needed, evaluates each step count, records the entries. */
export async function runRow(o: TableOptions): Promise<FewStepEntry[]> {
  const preset = FEW_STEP_ROWS[o.row];
  const { dir, command, seconds } = await modelOf(o, preset);
  const run = preset.train ? await runOfFolder(dir) : null;
  const numSamples = o.numSamples ?? preset.numSamples;
  const result = await runQualityBench({
    model: dir,
    dataset: "mnist",
    numSamples,
    refCount: o.refCount,
    samplers: preset.steps.map((steps) => ({ name: preset.sampler, steps })),
    guidanceScale: 1,
    batchSize: o.batchSize,
    seed: o.seed,
    threads: o.threads,
    out: join(o.work, `eval-${o.row}`),
    log: o.log,
  });
  const straightness =
    preset.sampler === "flow_euler"
      ? (await pipelineStraightness(await loadPipeline(dir), { threads: o.threads, seed: o.seed })).perValue
      : undefined;
  if (straightness !== undefined) o.log(`${dir}: straightness ${straightness.toFixed(4)} per pixel`);
  const entries = result.rows.map(
    (r): FewStepEntry => ({
      row: o.row,
      method: preset.method,
      sampler: preset.sampler,
      steps: r.steps,
      nfe: r.nfe,
      ...rowMetrics(r),
      trainingSeconds: run?.seconds ?? null,
      trainSteps: run?.steps ?? null,
      ...(seconds === undefined ? {} : { commandSeconds: seconds }),
      secondsPerSample: r.seconds / r.samples,
      samples: r.samples,
      referenceCount: result.referenceCount,
      guidanceScale: 1,
      seed: o.seed,
      command,
      ...(straightness === undefined ? {} : { straightness }),
      load: loadavg()[0]!,
      date: new Date().toISOString(),
    }),
  );
  recordEntries(entries, o.rowsFile, o.readme);
  return entries;
}

/** Command-line flags -> options; errors name the flag and what was expected. */
export function parseTableCli(argv: string[]): TableOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      row: { type: "string" },
      teacher: { type: "string" },
      work: { type: "string" },
      "num-samples": { type: "string" },
      "ref-count": { type: "string" },
      "batch-size": { type: "string" },
      seed: { type: "string" },
      threads: { type: "string" },
      rows: { type: "string" },
      readme: { type: "string" },
    },
  });
  if (!(ROW_NAMES as readonly string[]).includes(values.row ?? "")) {
    throw new Error(`--row: ${JSON.stringify(values.row)}; expected one of ${ROW_NAMES.join(", ")}`);
  }
  if (typeof values.teacher !== "string") throw new Error("--teacher: required (the teacher model folder)");
  const int = (name: keyof typeof values, fallback: number, min = 1): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const v = Number(raw);
    if (typeof raw !== "string" || !Number.isSafeInteger(v) || v < min) {
      throw new Error(`--${name}: expected an integer >= ${min}, got ${JSON.stringify(raw)}`);
    }
    return v;
  };
  return {
    row: values.row as RowName,
    teacher: values.teacher,
    work: values.work ?? "runs/few-step",
    ...(values["num-samples"] !== undefined ? { numSamples: int("num-samples", 0) } : {}),
    refCount: int("ref-count", 2000),
    batchSize: int("batch-size", 100),
    seed: int("seed", 0, 0),
    threads: int("threads", 0, 0),
    rowsFile: values.rows ?? "docs/few-step-table.json",
    readme: values.readme ?? "README.md",
    log: (line) => process.stderr.write(`${line}\n`),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const entries = await runRow(parseTableCli(process.argv.slice(2)));
  console.log(formatFewStepTable(entries));
}
