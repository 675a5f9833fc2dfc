/**
 * The browser-safe entry stays browser-safe: esbuild bundles it for the "browser" platform, where a
 * Node built-in (node:fs, zlib, ...) or onnxruntime-node cannot resolve and fails the build. Bundled
 * from the sources (the "diffuse-source" condition of package.json's exports), so no build is needed.
 */
import { builtinModules } from "node:module";
import { build, type Metafile } from "esbuild";
import { describe, expect, it } from "vitest";

async function bundle(specifier: string): Promise<{ errors: string[]; metafile?: Metafile; code: string }> {
  try {
    const r = await build({
      stdin: {
        contents: `import * as d from ${JSON.stringify(specifier)}; globalThis.d = d;`,
        resolveDir: process.cwd(),
        loader: "ts",
      },
      bundle: true,
      platform: "browser",
      format: "esm",
      conditions: ["diffuse-source"],
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    return { errors: [], metafile: r.metafile, code: r.outputFiles[0]!.text };
  } catch (e) {
    const errors = (e as { errors?: { text: string }[] }).errors?.map((x) => x.text) ?? [String(e)];
    return { errors, code: "" };
  }
}

const NODE_ONLY = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

describe("the browser-safe entry", () => {
  for (const specifier of ["diffuse/core", "diffuse"]) {
    it(`${specifier} bundles for the browser platform without any Node built-in`, async () => {
      const { errors, metafile, code } = await bundle(specifier);
      expect(errors).toEqual([]);
      const inputs = Object.keys(metafile!.inputs);
      expect(inputs).toContain("src/core.ts");
      expect(
        inputs.filter((f) => NODE_ONLY.has(f) || f.includes("onnxruntime-node") || /-node\.ts$/.test(f)),
      ).toEqual([]);
      expect(inputs.some((f) => f.startsWith("src/pipelines/pipeline.ts"))).toBe(true);
      expect(code).not.toMatch(/from\s*["']node:/);
    });
  }

  it("the check can fail: the Node entry does not bundle for the browser", async () => {
    const { errors } = await bundle("./src/index.ts");
    expect(errors.join("\n")).toMatch(/node:|onnxruntime-node|Could not resolve/);
  });
});
