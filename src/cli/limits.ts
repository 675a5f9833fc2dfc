/**
 * The resource-limit flags shared by `train`, `sample` and `eval`: `--max-memory SIZE` (the budget a
 * model and its batch may plan to use; default 75% of the machine's memory) and `--force-threads`
 * (allow `--threads` above the number of cores). Both are checked before any work starts.
 */
import { ResourceError } from "../models/estimate.js";
import { checkThreads, defaultMemoryLimit, parseMemorySize } from "../models/resources-node.js";
import { type Flag, type FlagValue, UsageError } from "./args.js";

export const LIMIT_FLAGS: readonly Flag[] = [
  {
    name: "max-memory",
    kind: "string",
    value: "SIZE",
    help: "memory budget for the model and its batch, e.g. 8G or 512M (default: 75% of the machine's memory)",
  },
  { name: "force-threads", kind: "boolean", help: "allow --threads above the number of cores" },
];

/** The hint appended to a refused estimate. */
export const MEMORY_HINT = "pass --max-memory SIZE to allow more, or reduce the batch / model";

/** --max-memory in bytes (or the default), from parsed flag values. */
export function memoryLimitFrom(values: Record<string, FlagValue>): number {
  const raw = values.maxMemory;
  if (raw === undefined) return defaultMemoryLimit();
  const bytes = parseMemorySize(String(raw));
  if (bytes === null) {
    throw new UsageError(
      `--max-memory: expected a size such as 8G, 512M or a byte count, got ${JSON.stringify(raw)}`,
    );
  }
  return bytes;
}

/** --threads checked against the cores (UsageError unless --force-threads). */
export function threadsFrom(threads: unknown, values: Record<string, FlagValue>): number {
  try {
    return checkThreads(typeof threads === "number" ? threads : 0, values.forceThreads === true, "--threads");
  } catch (e) {
    if (e instanceof ResourceError) throw new UsageError(e.message);
    throw e;
  }
}
