/**
 * What `npm run bench` says about the machine it ran on: the CPU (model name, and for AMD/Intel the
 * family/model numbers and vector extensions, since a cloud CPU's name often stops at "AMD EPYC") and
 * its single-precision GEMM rate measured in the same run, through ONNX Runtime (the engine the
 * project compiles to) and through PyTorch (the baseline), so a step's achieved GFLOP/s can be read
 * as a fraction of what the machine's GEMM does.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { makeKey, normal } from "../src/random/index.js";
import * as T from "../src/tensor/index.js";

/** Zen generations by AMD family (and model range for family 25, which holds Zen 3 and Zen 4). */
function amdCore(family: number, model: number): string | undefined {
  if (family === 23) return model >= 0x30 ? "Zen 2" : "Zen/Zen+";
  if (family === 25)
    return (model >= 0x10 && model < 0x20) || (model >= 0x60 && model < 0xb0) ? "Zen 4" : "Zen 3";
  if (family === 26) return "Zen 5";
  return undefined;
}

/** One line naming the CPU, e.g. "AMD EPYC (family 26 model 2, Zen 5; avx512f avx2 fma), 2 cores". */
export function describeCpu(): string {
  const name = cpus()[0]?.model.trim() ?? "unknown CPU";
  const n = cpus().length;
  if (!existsSync("/proc/cpuinfo")) return `${name}, ${n} cores`;
  const info = readFileSync("/proc/cpuinfo", "utf8").split("\n\n")[0] ?? "";
  const field = (k: string) => info.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, "m"))?.[1]?.trim();
  const family = Number(field("cpu family"));
  const model = Number(field("model"));
  const flags = new Set((field("flags") ?? "").split(/\s+/));
  const isa = ["avx512f", "avx512_bf16", "amx_tile", "avx2", "fma"].filter((f) => flags.has(f));
  const core = /AMD/.test(name) ? amdCore(family, model) : undefined;
  const id = Number.isFinite(family) ? `family ${family} model ${model}${core ? `, ${core}` : ""}; ` : "";
  return `${name} (${id}${isa.join(" ")}), ${n} cores`;
}

/** Median milliseconds of `fn` after `warmup` calls. */
export async function medianMs(fn: () => Promise<unknown>, iters: number, warmup: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)]!;
}

/**
 * Median milliseconds of each of `fns`, timed in turn (a, b, a, b, ...) after `warmup` calls each, so
 * that a shared machine's load falls on all of them alike.
 */
export async function alternatedMedianMs(
  fns: readonly (() => Promise<unknown>)[],
  iters: number,
  warmup: number,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) for (const fn of fns) await fn();
  const ts = fns.map(() => [] as number[]);
  for (let i = 0; i < iters; i++) {
    for (const [k, fn] of fns.entries()) {
      const t0 = performance.now();
      await fn();
      ts[k]!.push(performance.now() - t0);
    }
  }
  return ts.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}

/** GFLOP/s of an n x n by n x n float32 matmul through ONNX Runtime (one compiled MatMul), per n. */
export async function ortSgemm(
  threads: number,
  sizes: readonly number[],
  iters = 5,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const mm = T.compile((a: T.Tensor, b: T.Tensor) => T.matmul(a, b), { threads });
  for (const n of sizes) {
    const a = T.tensor(normal(makeKey(n), n * n), [n, n]);
    const b = T.tensor(normal(makeKey(n + 1), n * n), [n, n]);
    out[n] = round1((2 * n ** 3) / (await medianMs(() => mm(a, b), iters, 2)) / 1e6);
  }
  return out;
}

/** Runs bench/torch_rates.py with Debian's python3 (null, with the reason on stderr, without torch). */
export function torchRates(args: string[]): Record<string, unknown> | null {
  const script = join(import.meta.dirname, "torch_rates.py");
  if (!existsSync("/usr/bin/python3")) return null;
  try {
    const out = execFileSync("/usr/bin/python3", [script, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return JSON.parse(out.trim().split("\n").pop()!);
  } catch (e) {
    process.stderr.write(
      `torch rates unavailable (apt-get install python3-torch): ${(e as Error).message.split("\n")[0]}\n`,
    );
    return null;
  }
}

export const round1 = (x: number): number => Math.round(x * 10) / 10;
