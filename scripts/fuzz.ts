/**
 * Nightly-style fuzzing of every parser that reads user files (targets in test/fuzz/targets.ts):
 *
 *   npm run fuzz -- --runs 100000 [--seed S] [--only png,csv]
 *
 * For each parser prints `<name>: N cases, K crashes (T s)`; a crash is any error other than the
 * project's named InputError, or an InputError of a file-level reader that does not name the file.
 * The first crashes of each parser are printed with their input (hex / JSON) to reproduce them.
 * Exits 1 if any parser crashed. Slow cases (over 1 s) are reported as crashes too (a hang).
 */
import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import fc from "fast-check";
import { makeTargets, runCase, scratchRoot } from "../test/fuzz/targets.js";

const SLOW_SECONDS = 1;

function show(input: unknown): string {
  const text =
    input instanceof Uint8Array
      ? `bytes(${input.length}) ${Buffer.from(input.subarray(0, 96)).toString("hex")}`
      : JSON.stringify(input, (_, v) => (v instanceof Uint8Array ? `bytes(${v.length})` : v));
  return text.length > 400 ? `${text.slice(0, 400)}...` : text;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { runs: { type: "string" }, seed: { type: "string" }, only: { type: "string" } },
  });
  const runs = Number(values.runs ?? 1000);
  const seed = Number(values.seed ?? Date.now() % 2 ** 31);
  if (!Number.isSafeInteger(runs) || runs < 1)
    throw new Error(`--runs: expected a positive integer, got ${values.runs}`);
  const only = values.only?.split(",").map((s) => s.trim());
  console.log(`fuzz: ${runs} cases per parser, seed ${seed}`);
  let total = 0;
  try {
    for (const target of await makeTargets()) {
      if (only && !only.some((o) => target.name.startsWith(o))) continue;
      const t0 = performance.now();
      let crashes = 0;
      const inputs = fc.sample(target.input, { numRuns: runs, seed });
      for (const input of inputs) {
        const c0 = performance.now();
        let crash = await runCase(target, input);
        const seconds = (performance.now() - c0) / 1000;
        if (!crash && seconds > SLOW_SECONDS) crash = `slow: ${seconds.toFixed(1)} s`;
        if (crash) {
          crashes++;
          if (crashes <= 3) console.log(`  crash in ${target.name}: ${crash}\n    input: ${show(input)}`);
        }
      }
      total += crashes;
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      console.log(`${target.name}: ${inputs.length} cases, ${crashes} crashes (${s} s)`);
    }
  } finally {
    const root = scratchRoot();
    if (root) rmSync(root, { recursive: true, force: true });
  }
  return total === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(e);
    process.exitCode = 1;
  },
);
