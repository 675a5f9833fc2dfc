/**
 * The golden model folders (kinds unet2d and autoencoder-kl) found under test/fixtures/golden, each
 * checked eagerly (op by op) and compiled (one ONNX graph) by the registered golden handlers.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import "../../src/golden/kinds/autoencoder-kl.js";
import "../../src/golden/kinds/unet2d.js";
import { discoverCases } from "../../src/golden/discover.js";
import { type GoldenMode, handlerFor } from "../../src/golden/registry.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/golden", import.meta.url));
const KINDS = ["unet2d", "autoencoder-kl"];
const MODES: GoldenMode[] = ["eager", "compiled"];

describe("golden diffusers models", async () => {
  const cases = (await discoverCases(FIXTURES)).filter((c) => KINDS.includes(c.kind));

  it("has model folders of each kind", () => {
    for (const kind of KINDS)
      expect(
        cases.some((c) => c.kind === kind),
        kind,
      ).toBe(true);
  });

  for (const c of cases) {
    for (const mode of MODES) {
      it(`${c.id} (${c.kind}) matches diffusers 0.30.3, ${mode}`, async () => {
        const result = await handlerFor(c.kind)!(c.data, { dir: c.dir, file: c.file, mode });
        expect(result.detail ?? "").toBe("");
        expect(result.ok).toBe(true);
      });
    }
  }
});
