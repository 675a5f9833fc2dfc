/**
 * Golden runner CLI: `npm run golden -- DIR [--mode eager|compiled] [--kind KIND ...]`.
 * Prints PASS/FAIL/SKIP per case and `N passed, M failed`; exits 1 if any case failed, 2 on bad
 * arguments or a missing directory.
 */
import { stat } from "node:fs/promises";
import "../src/golden/kinds/index.js";
import type { GoldenMode } from "../src/golden/registry.js";
import { runGolden } from "../src/golden/run.js";

const USAGE = "usage: npm run golden -- DIR [--mode eager|compiled] [--kind KIND ...]";

interface Args {
  dir: string;
  mode: GoldenMode;
  kinds?: string[];
}

function usage(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  let dir: string | undefined;
  let mode: GoldenMode = "eager";
  const kinds: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--mode" || arg === "--kind") {
      const value = argv[++i];
      if (value === undefined) usage(`${arg} needs a value`);
      if (arg === "--kind") kinds.push(value);
      else if (value === "eager" || value === "compiled") mode = value;
      else usage(`--mode "${value}" is not one of eager, compiled`);
    } else if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      process.exit(0);
    } else if (arg.startsWith("-")) {
      usage(`unknown option "${arg}"`);
    } else if (dir === undefined) {
      dir = arg;
    } else {
      usage(`unexpected argument "${arg}" (DIR is already "${dir}")`);
    }
  }
  if (dir === undefined) usage("missing DIR (a golden directory)");
  return { dir, mode, kinds: kinds.length > 0 ? kinds : undefined };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const info = await stat(args.dir).catch(() => undefined);
  if (!info?.isDirectory()) usage(`golden directory "${args.dir}" does not exist or is not a directory`);
  const summary = await runGolden(args.dir, { mode: args.mode, kinds: args.kinds });
  process.exitCode = summary.failed > 0 ? 1 : 0;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
