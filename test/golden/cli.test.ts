import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURES = path.join(ROOT, "test/fixtures/golden");

function golden(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/golden.ts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("scripts/golden.ts", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "golden-cli-"));
    const weights = await readFile(path.join(FIXTURES, "loss_weights.json"), "utf8");
    await writeFile(path.join(dir, "loss_weights.json"), weights);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("exits 0 and prints the counts when every case passes", () => {
    const r = golden(dir, "--mode", "eager");
    expect(r.stdout.trim().split("\n")).toEqual(["PASS loss_weights.json", "1 passed, 0 failed"]);
    expect(r.status).toBe(0);
  });

  it("exits 1 when a case fails", async () => {
    const json = JSON.parse(await readFile(path.join(FIXTURES, "loss_weights.json"), "utf8"));
    json.min_snr_v[0] += 1;
    await writeFile(path.join(dir, "loss_weights.json"), JSON.stringify(json));
    const r = golden(dir);
    expect(r.stdout).toMatch(/^FAIL loss_weights\.json min_snr_v\[0\]/m);
    expect(r.stdout).toMatch(/^0 passed, 1 failed$/m);
    expect(r.status).toBe(1);
  });

  it("exits 2 with the usage for bad arguments or a missing directory", () => {
    for (const args of [[], [dir, "--mode", "fast"], [dir, "--bogus"], [path.join(dir, "missing")]]) {
      const r = golden(...args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/usage: npm run golden -- DIR/);
    }
    expect(golden(dir, "--mode", "fast").stderr).toMatch(/--mode "fast" is not one of eager, compiled/);
  });
});
