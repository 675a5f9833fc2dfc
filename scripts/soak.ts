/**
 * Kill soak (issue 17): a small training run (`diffuse train`, a tiny MLP on the moons points) is
 * killed with SIGKILL at K seeded random moments, resumed with --resume after each kill, and at the
 * end its files must equal those of an uninterrupted run of the same settings: the log (without wall
 * times), the final weights, the checkpoint (every tensor, step, data position, RNG state), the
 * sample grids, the scheduler config and model_index.json.
 *
 *   npm run soak -- --kills K --seed S [--steps N] [--keep]
 *
 * prints `K kills, final state identical` and exits 0, or names the differences and exits 1.
 *
 * Kill moments are drawn (seeded) over the phases of an invocation, scaled by the reference run's
 * timings: start-up, any step still ahead of the checkpoint (and a fraction of a step after it), the
 * final phase and its final save (where a kill once left a duplicate validation line); see
 * `killMoment`. Each kill is a plain SIGKILL: no handler runs.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readSafetensorsFile } from "../src/io/files.js";
import { foldIn, makeKey, uniform } from "../src/random/index.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));

export interface SoakOptions {
  kills: number;
  seed: number;
  /** Training steps of the run (default 150). */
  steps?: number;
  /** Keep the run directories (printed) instead of removing them. */
  keep?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface SoakResult {
  kills: number;
  /** Invocations that finished before their kill moment. */
  completedEarly: number;
  /** Step the log had reached at each kill (-1: none logged yet in that invocation's directory). */
  killedAt: number[];
  differences: string[];
  root: string;
}

function trainArgs(out: string, seed: number, steps: number): string[] {
  return [
    "--import",
    "tsx",
    path.join(REPO, "src/cli/main.ts"),
    "train",
    ...["--dataset", "moons", "--limit", "400", "--preset", "mlp"],
    ...["--model", '{"hidden_size":32,"num_layers":2}'],
    ...["--steps", String(steps), "--batch-size", "16", "--warmup-steps", "10", "--seed", String(seed)],
    ...["--log-every", "1", "--checkpoint-every", "10", "--valid-every", "50", "--valid-size", "32"],
    ...["--sample-every", "50", "--num-samples", "32", "--sampler", "ddim", "--sampler-steps", "3"],
    ...["--threads", "1", "--out", out],
  ];
}

interface Invocation {
  /** Exit code, or null when killed. */
  code: number | null;
  killed: boolean;
  seconds: number;
  /** Seconds until the first progress line appeared (NaN if none). */
  firstStep: number;
  /** Seconds until the progress line of the last step appeared (NaN if none). */
  lastStep: number;
  /** Seconds until the final validation line appeared (NaN if none). */
  finalValidation: number;
  stderr: string;
}

/** When to SIGKILL an invocation: at a time after its start, or a delay after it reports a step. */
type KillAt =
  | { seconds: number }
  | { step: number; delay: number }
  /** During the final save: `delay` after the final validation line (model folder, samples, loss curve). */
  | { finalSave: true; delay: number }
  | null;

/** Runs `diffuse train` once, killing it with SIGKILL as `kill` says (if still running then). */
function invoke(args: string[], steps: number, kill: KillAt): Promise<Invocation> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const now = () => (performance.now() - t0) / 1000;
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let firstStep = Number.NaN;
    let lastStep = Number.NaN;
    let finalValidation = Number.NaN;
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    const killIn = (seconds: number) => {
      timer ??= setTimeout(() => {
        killed = child.kill("SIGKILL");
      }, seconds * 1000);
    };
    if (kill && "seconds" in kill) killIn(kill.seconds);
    child.stderr.on("data", (b: Buffer) => {
      const text = b.toString();
      stderr = (stderr + text).slice(-4000);
      for (const m of text.matchAll(/step\s+(\d+)\//g)) {
        const n = Number(m[1]);
        if (Number.isNaN(firstStep)) firstStep = now();
        if (n >= steps && Number.isNaN(lastStep)) lastStep = now();
        if (kill && "step" in kill && n >= kill.step) killIn(kill.delay);
      }
      if (/(^|\n)validation loss /.test(text)) {
        if (Number.isNaN(finalValidation)) finalValidation = now();
        if (kill && "finalSave" in kill) killIn(kill.delay);
      }
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, killed, seconds: now(), firstStep, lastStep, finalValidation, stderr });
    });
  });
}

/** The last step in the run's log.jsonl (-1: none). */
function lastLoggedStep(out: string): number {
  const file = path.join(out, "log.jsonl");
  if (!existsSync(file)) return -1;
  for (const l of readFileSync(file, "utf8").trim().split("\n").reverse()) {
    try {
      return (JSON.parse(l) as { step: number }).step;
    } catch {}
  }
  return -1;
}

/** The step of the run's checkpoint (0 without one). */
function checkpointStep(out: string): number {
  const file = path.join(out, "checkpoint.safetensors");
  if (!existsSync(file)) return 0;
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString()) as { __metadata__?: Record<string, string> };
  return (JSON.parse(header.__metadata__?.diffuse_checkpoint ?? "{}") as { step?: number }).step ?? 0;
}

/** Files (relative paths) that must be identical, byte for byte or as parsed records. */
async function compareRuns(a: string, b: string): Promise<string[]> {
  const diffs: string[] = [];
  const bytes = (dir: string, f: string) =>
    existsSync(path.join(dir, f)) ? readFileSync(path.join(dir, f)) : null;
  const grids = (dir: string) =>
    existsSync(path.join(dir, "samples")) ? readdirSync(path.join(dir, "samples")).sort() : [];
  const files = [
    "unet/diffusion_pytorch_model.safetensors",
    "unet/config.json",
    "scheduler/scheduler_config.json",
    "model_index.json",
    "samples.png",
    ...grids(a).map((g) => `samples/${g}`),
  ];
  if (JSON.stringify(grids(a)) !== JSON.stringify(grids(b)))
    diffs.push(`samples/: ${grids(a).join(",")} vs ${grids(b).join(",")}`);
  for (const f of files) {
    const [x, y] = [bytes(a, f), bytes(b, f)];
    if (!x || !y) diffs.push(`${f}: missing in ${x ? "the killed run" : "the reference"}`);
    else if (!x.equals(y)) diffs.push(`${f}: contents differ`);
  }
  const log = (dir: string) =>
    readFileSync(path.join(dir, "log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => {
        const { time: _t, ...r } = JSON.parse(l) as Record<string, unknown>;
        return JSON.stringify(r);
      });
  const [la, lb] = [log(a), log(b)];
  if (la.length !== lb.length) diffs.push(`log.jsonl: ${la.length} records vs ${lb.length}`);
  const firstDiff = la.findIndex((r, i) => r !== lb[i]);
  if (firstDiff >= 0)
    diffs.push(`log.jsonl: record ${firstDiff + 1} differs: ${la[firstDiff]} vs ${lb[firstDiff]}`);
  const [ca, cb] = await Promise.all(
    [a, b].map((d) => readSafetensorsFile(path.join(d, "checkpoint.safetensors"))),
  );
  const meta = (m: Record<string, string> | undefined) => {
    // Wall time, the run directory and the --resume flag differ by construction.
    const {
      elapsed: _e,
      config,
      ...rest
    } = JSON.parse(m?.diffuse_checkpoint ?? "{}") as Record<string, unknown>;
    const { out: _o, resume: _r, ...settings } = config as Record<string, unknown>;
    return JSON.stringify({ ...rest, settings });
  };
  if (meta(ca!.metadata) !== meta(cb!.metadata))
    diffs.push("checkpoint metadata (step, loader, rng, config) differs");
  for (const [name, t] of ca!.tensors) {
    const u = cb!.tensors.get(name);
    const same =
      u &&
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(
        Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength),
      );
    if (!same) diffs.push(`checkpoint tensor ${name} differs`);
  }
  if (ca!.tensors.size !== cb!.tensors.size) diffs.push("checkpoint tensor count differs");
  return diffs;
}

/**
 * Where the next kill lands, from three seeded uniforms: one in ten during start-up (compilation,
 * data loading), one in ten during the final save (after the final validation line: model folder,
 * samples, loss curve); otherwise a step drawn uniformly from those still ahead of the checkpoint,
 * plus a fraction of a step, or (at the last step) a moment inside the final phase (checkpoint,
 * validation, save). A run whose final checkpoint exists reruns only the final phase: the kill then
 * lands in its final save or anywhere in that invocation, half and half.
 */
function killMoment(
  u: Float32Array,
  from: number,
  steps: number,
  ref: { startup: number; final: number; step: number; save: number },
): KillAt {
  const finalSave = { finalSave: true as const, delay: u[1]! * ref.save };
  if (from >= steps) return u[0]! < 0.5 ? finalSave : { seconds: u[1]! * (ref.startup + ref.final) };
  if (u[0]! < 0.1) return { seconds: u[1]! * ref.startup };
  if (u[0]! < 0.2) return finalSave;
  const step = from + 1 + Math.floor(u[1]! * (steps - from));
  return { step, delay: u[2]! * (step >= steps ? ref.final : ref.step) };
}

/** The soak: reference run, K kills with resumes, final resume, comparison. */
export async function soak(o: SoakOptions): Promise<SoakResult> {
  const steps = o.steps ?? 150;
  const say = o.log ?? (() => {});
  const root = mkdtempSync(path.join(tmpdir(), "diffuse-soak-"));
  const [refDir, runDir] = [path.join(root, "reference"), path.join(root, "killed")];
  try {
    const r0 = await invoke(trainArgs(refDir, o.seed, steps), steps, null);
    if (r0.code !== 0) throw new Error(`the reference run failed (exit ${r0.code}):\n${r0.stderr}`);
    const ref = {
      startup: r0.firstStep,
      final: r0.seconds - r0.lastStep,
      step: (r0.lastStep - r0.firstStep) / Math.max(1, steps - 1),
      save: r0.seconds - r0.finalValidation,
    };
    say(
      `reference run: ${r0.seconds.toFixed(1)} s (start-up ${ref.startup.toFixed(1)} s, ${(1000 * ref.step).toFixed(1)} ms/step, final phase ${ref.final.toFixed(1)} s)`,
    );
    const key = makeKey(o.seed);
    const killedAt: number[] = [];
    let completedEarly = 0;
    for (let attempt = 0; killedAt.length < o.kills; attempt++) {
      if (attempt > 4 * o.kills + 8) throw new Error(`only ${killedAt.length} of ${o.kills} kills landed`);
      const from = checkpointStep(runDir);
      const kill = killMoment(uniform(foldIn(key, attempt), 3), from, steps, ref);
      const args = [...trainArgs(runDir, o.seed, steps), ...(attempt > 0 ? ["--resume"] : [])];
      const r = await invoke(args, steps, kill);
      const what = !kill
        ? "-"
        : "step" in kill
          ? `step ${kill.step} + ${(1000 * kill.delay).toFixed(0)} ms`
          : "finalSave" in kill
            ? `final validation + ${(1000 * kill.delay).toFixed(0)} ms (final save)`
            : `${kill.seconds.toFixed(2)} s`;
      if (r.killed && r.code === null) {
        killedAt.push(lastLoggedStep(runDir));
        say(
          `kill ${killedAt.length}: from checkpoint step ${from}, SIGKILL at ${what} (log at step ${killedAt.at(-1)})`,
        );
      } else {
        if (r.code !== 0) throw new Error(`invocation ${attempt + 1} failed (exit ${r.code}):\n${r.stderr}`);
        completedEarly++;
        say(`invocation ${attempt + 1} (from step ${from}) finished before its kill at ${what}`);
      }
    }
    const last = await invoke([...trainArgs(runDir, o.seed, steps), "--resume"], steps, null);
    if (last.code !== 0) throw new Error(`the final resume failed (exit ${last.code}):\n${last.stderr}`);
    const differences = await compareRuns(refDir, runDir);
    return { kills: killedAt.length, completedEarly, killedAt, differences, root };
  } finally {
    if (!o.keep) rmSync(root, { recursive: true, force: true });
  }
}

async function cli(): Promise<number> {
  const { values } = parseArgs({
    options: {
      kills: { type: "string", default: "10" },
      seed: { type: "string", default: "0" },
      steps: { type: "string", default: "150" },
      keep: { type: "boolean", default: false },
    },
  });
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min)
      throw new Error(`--${name}: expected an integer >= ${min}, got ${v}`);
    return n;
  };
  const r = await soak({
    kills: int("kills", values.kills!, 1),
    seed: int("seed", values.seed!, 0),
    steps: int("steps", values.steps!, 1),
    keep: values.keep,
    log: (l) => process.stderr.write(`${l}\n`),
  });
  if (values.keep) process.stderr.write(`run directories kept in ${r.root}\n`);
  if (r.differences.length) {
    process.stdout.write(
      `${r.kills} kills, final state DIFFERS:\n${r.differences.map((d) => `  ${d}\n`).join("")}`,
    );
    return 1;
  }
  process.stdout.write(`${r.kills} kills, final state identical\n`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli().then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`soak: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
