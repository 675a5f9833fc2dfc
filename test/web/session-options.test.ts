/**
 * The page's `?session=` parameter (web/lib/backend.ts): extra ONNX Runtime Web session options for
 * measuring page variants against each other (npm run bench:browser -- --variant). Parsing accepts only
 * a JSON object and names the parameter in its errors; the wrapper merges the options over diffuse's,
 * and keeps profiled sessions so the page can print their profiles.
 */
import { expect, it } from "vitest";
import type { OrtLike, OrtSessionOptions } from "../../src/core.js";
import { parseSessionOptions, withSessionOptions } from "../../web/lib/backend.js";

it("parses ?session= as a JSON object, and nothing else", () => {
  expect(parseSessionOptions(null)).toEqual({});
  expect(parseSessionOptions("")).toEqual({});
  expect(parseSessionOptions('{"enableCpuMemArena":true}')).toEqual({ enableCpuMemArena: true });
  expect(() => parseSessionOptions("{enableCpuMemArena:true}")).toThrow(/URL parameter session is not JSON/);
  expect(() => parseSessionOptions("[1]")).toThrow(/session is \[1\], expected a JSON object/);
  expect(() => parseSessionOptions("3")).toThrow(/expected a JSON object/);
});

it("merges the extra options over diffuse's and keeps profiled sessions", async () => {
  const seen: OrtSessionOptions[] = [];
  const session = { inputNames: [], outputNames: [], run: async () => ({}), release: async () => {} };
  const fake = {
    Tensor: class {},
    InferenceSession: {
      create: async (_m: Uint8Array, o?: OrtSessionOptions) => {
        seen.push(o ?? {});
        return session;
      },
    },
  } as unknown as OrtLike;
  expect(withSessionOptions(fake, {})).toBe(fake);
  const profiled: unknown[] = [];
  const ort = withSessionOptions(
    fake,
    { enableCpuMemArena: true, graphOptimizationLevel: "basic", enableProfiling: true },
    profiled as { endProfiling(): void }[],
  );
  const s = await ort.InferenceSession.create(new Uint8Array(), {
    graphOptimizationLevel: "all",
    interOpNumThreads: 1,
  });
  expect(s).toBe(session);
  expect(seen[0]).toEqual({
    graphOptimizationLevel: "basic",
    interOpNumThreads: 1,
    enableCpuMemArena: true,
    enableProfiling: true,
  });
  expect(profiled).toEqual([session]);
});
