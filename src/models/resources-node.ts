/**
 * Machine-dependent resource limits (Node only): the default memory budget for a model and its batch
 * (a fraction of the machine's memory), and the bound on ONNX Runtime threads. The browser-safe core
 * (estimate.ts) takes the limit as a parameter; these functions supply it in Node.
 */
import { availableParallelism, totalmem } from "node:os";
import { fmtBytes, ResourceError } from "./estimate.js";

/** Share of the machine's memory a run may plan to use by default. */
export const MEMORY_FRACTION = 0.75;

/** Without force, at most this many threads per core are accepted. */
export const MAX_FORCED_THREADS = 1024;

/** The default memory budget: MEMORY_FRACTION of os.totalmem(). */
export function defaultMemoryLimit(): number {
  return Math.floor(MEMORY_FRACTION * totalmem());
}

/** Describes the default limit for messages. */
export function describeDefaultLimit(): string {
  return `${Math.round(MEMORY_FRACTION * 100)}% of this machine's ${fmtBytes(totalmem())}`;
}

const UNITS: Record<string, number> = { "": 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/**
 * Parses a memory size: bytes ("8000000000"), or a number with K, M, G or T (decimal units, an
 * optional trailing "B"): "8G", "512MB", "1.5T". Returns null when the text is not such a size.
 */
export function parseMemorySize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*$/i.exec(text);
  if (!m) return null;
  const bytes = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  return Number.isFinite(bytes) && bytes > 0 ? bytes : null;
}

/**
 * Checks an ONNX Runtime thread count: 0 (ORT's default) or 1..cores; more only with `force` (up to
 * MAX_FORCED_THREADS). Each ORT thread has its own stack and arena, so 100000 threads exhausts memory.
 */
export function checkThreads(threads: number, force: boolean, flag = "threads"): number {
  const cores = availableParallelism();
  if (!Number.isSafeInteger(threads) || threads < 0) {
    throw new ResourceError(
      `${flag}: ${threads} is not a thread count; expected 0 (all cores) or 1..${cores}`,
    );
  }
  if (threads > cores && !force) {
    throw new ResourceError(
      `${flag}: ${threads} threads is more than this machine's ${cores} cores; use at most ${cores} (0: all cores), or pass --force-threads to oversubscribe`,
    );
  }
  if (threads > MAX_FORCED_THREADS) {
    throw new ResourceError(`${flag}: ${threads} threads is above the hard limit of ${MAX_FORCED_THREADS}`);
  }
  return threads;
}
