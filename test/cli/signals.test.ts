/**
 * SIGINT / SIGTERM during `diffuse train` (issue 17), on the real process: the first signal stops
 * the run at a step boundary with a checkpoint, the message says where it is and how to resume, and
 * the exit code is 130 / 143; a second signal exits at once. The kill soak (SIGKILL at seeded random
 * moments, resumed each time, compared with an uninterrupted run) runs at K = 3.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { soak } from "../../scripts/soak.js";
import { readCheckpointMeta } from "../../src/train/checkpoint-node.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const root = mkdtempSync(path.join(tmpdir(), "diffuse-signals-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A long run on the moons points (it is stopped long before its end). */
function train(out: string, extra: string[] = []): ChildProcess {
  const args = [
    ...["--import", "tsx", "src/cli/main.ts", "train", "--dataset", "moons", "--limit", "200"],
    ...["--preset", "mlp", "--model", '{"hidden_size":16,"num_layers":2}', "--steps", "100000"],
    ...["--batch-size", "8", "--log-every", "1", "--checkpoint-every", "1000", "--threads", "1"],
    ...["--out", out, ...extra],
  ];
  return spawn(process.execPath, args, { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
}

/** Resolves when the child's stderr shows step >= n; collects all stderr. */
function run(child: ChildProcess, n: number) {
  let stderr = "";
  let onStep: () => void = () => {};
  const stepped = new Promise<void>((resolve) => {
    onStep = resolve;
  });
  child.stderr!.on("data", (b: Buffer) => {
    stderr += b.toString();
    for (const m of b.toString().matchAll(/step\s+(\d+)\//g)) if (Number(m[1]) >= n) onStep();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { stepped, exited, stderr: () => stderr };
}

describe("signals during diffuse train", () => {
  it("SIGTERM: checkpoint at the step boundary, where it is and how to resume, exit 143", async () => {
    const out = path.join(root, "term");
    const child = train(out);
    const r = run(child, 5);
    await r.stepped;
    child.kill("SIGTERM");
    const { code } = await r.exited;
    expect(code).toBe(143);
    const meta = await readCheckpointMeta(out);
    expect(meta.step).toBeGreaterThanOrEqual(5);
    expect(r.stderr()).toContain("SIGTERM: stopping after the current step and writing a checkpoint");
    expect(r.stderr()).toContain(
      `diffuse train: Interrupted: SIGTERM at step ${meta.step} of 100000: checkpoint written to ${path.join(out, "checkpoint.safetensors")}; resume with: diffuse train --out ${out} --resume`,
    );
    // The log ends at the checkpoint's step: nothing after it was lost or left over.
    const log = readFileSync(path.join(out, "log.jsonl"), "utf8").trim().split("\n");
    expect(JSON.parse(log.at(-1)!).step).toBe(meta.step);
  }, 60_000);

  it("SIGINT then a second signal: exits at once with the second signal's code", async () => {
    const out = path.join(root, "twice");
    const child = train(out);
    const r = run(child, 3);
    await r.stepped;
    child.kill("SIGINT");
    child.kill("SIGTERM"); // a second SIGINT could merge with the first: use the other signal
    const { code } = await r.exited;
    // The two may be delivered in either order: the first stops the run gracefully, the second exits.
    const first = /(SIGINT|SIGTERM): stopping after the current step/.exec(r.stderr())?.[1];
    expect(first, r.stderr()).toBeDefined();
    const [second, secondCode] = first === "SIGINT" ? ["SIGTERM", 143] : ["SIGINT", 130];
    expect(r.stderr()).toContain(
      `${second} again: exiting now (code ${secondCode}) without a new checkpoint`,
    );
    expect(code).toBe(secondCode); // the first signal alone would end with its own code
  }, 60_000);
});

describe("kill soak", () => {
  it("3 SIGKILLs at seeded random moments, resumed each time: the final state equals an uninterrupted run", async () => {
    const r = await soak({ kills: 3, seed: 8, steps: 60 });
    expect(r.kills).toBe(3);
    expect(r.differences).toEqual([]);
  }, 120_000);
});
