/**
 * The run's log (Node only): `<out>/log.jsonl`, one JSON object per line, {step, loss, lr, gradNorm,
 * epoch, time[, skipped]} per logged step and {step, validLoss, time} per validation.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../io/files.js";

export const LOG_FILE = "log.jsonl";

/**
 * Keeps the log lines up to `step` (a resumed run rewrites what came after its checkpoint). With
 * `redoFinal` (the checkpoint is the final one, so the final phase runs again) the validation line
 * at `step` goes too: the final phase writes it again.
 */
export async function truncateLog(file: string, step: number, redoFinal: boolean): Promise<void> {
  if (!existsSync(file)) return;
  const kept = (await readFile(file, "utf8")).split("\n").filter((line) => {
    try {
      const r = JSON.parse(line) as { step: number; validLoss?: unknown };
      return r.step < step || (r.step === step && !(redoFinal && r.validLoss !== undefined));
    } catch {
      return false; // a torn last line of a killed run
    }
  });
  await writeFileAtomic(file, kept.map((l) => `${l}\n`).join(""));
}

/** Reads log.jsonl records. */
export async function readLog(out: string): Promise<Record<string, number>[]> {
  const text = await readFile(path.join(out, LOG_FILE), "utf8");
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, number>);
}
