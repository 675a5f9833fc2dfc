/**
 * `Module`: a tree of named parameters and child modules whose flat, dotted names are PyTorch /
 * diffusers state-dict names (`down_blocks.0.resnets.0.conv1.weight`).
 *
 * A module describes the computation; its forward is FUNCTIONAL: it takes the parameters explicitly as
 * a flat record `Params` keyed by those names. The same forward therefore runs eagerly, under
 * `T.valueAndGrad` (which hands it tracked aliases of the parameters) and under `T.compile` (which
 * hands it symbolic tensors):
 *
 *     const { value, grads } = T.valueAndGrad((p: Params) => loss(model.forward(p, x, t)))(model.parameters());
 *
 * A module also *holds* a current parameter set (created lazily from its init key, replaced by
 * `setParameters` / `loadStateDict`), which is what `parameters()` returns.
 */
import { type Key, makeKey } from "../random/index.js";
import type { Tensor } from "../tensor/index.js";
import { fail, fmtShape, LayerError } from "./check.js";
import { type Initializer, initialize, keyForName } from "./init.js";

/** Parameters by full dotted name. */
export type Params = Record<string, Tensor>;

/** One parameter: full dotted name, shape and initialiser. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Initializer;
}

/** `prefix.name`, or `name` at the root. */
export function joinPath(prefix: string, name: string | number): string {
  return prefix ? `${prefix}.${name}` : String(name);
}

export interface LoadStateDictOptions {
  /** Missing and unexpected names are errors (default true); shape mismatches always are. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missing: string[];
  unexpected: string[];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export class Module {
  /** The dotted path of this module in its tree ("" for a root). Errors are prefixed with it. */
  readonly path: string;
  private readonly ownParams: ParamSpec[] = [];
  private readonly childModules: Module[] = [];
  private values: Map<string, Tensor> | null = null;
  private initKey: Key = makeKey(0);

  constructor(path = "") {
    this.path = path;
  }

  /** The name used in error messages: the path, or the class name for an unnamed root. */
  get label(): string {
    return this.path || this.constructor.name;
  }

  /** Full path of a child or parameter called `name` of this module. */
  protected sub(name: string | number): string {
    return joinPath(this.path, name);
  }

  /** Declares parameter `name` (relative to this module); returns its full name. */
  protected addParam(name: string, shape: readonly number[], init: Initializer): string {
    const full = this.sub(name);
    this.ownParams.push({ name: full, shape: [...shape], init });
    return full;
  }

  /** Registers a child module (constructed with a path under this one); returns it. */
  protected addChild<M extends Module>(child: M): M {
    if (!child.path.startsWith(this.path)) {
      throw new LayerError(`${this.label}: child path "${child.path}" is not under "${this.path}"`);
    }
    this.childModules.push(child);
    return child;
  }

  /** Registers child modules in order; returns them. */
  protected addChildren<M extends Module>(children: M[]): M[] {
    for (const c of children) this.addChild(c);
    return children;
  }

  get children(): readonly Module[] {
    return this.childModules;
  }

  /** Every parameter of the subtree in registration order (own parameters first, like PyTorch). */
  parameterSpecs(): ParamSpec[] {
    return [...this.ownParams, ...this.childModules.flatMap((c) => c.parameterSpecs())];
  }

  /** Total number of scalar parameters. */
  parameterCount(): number {
    return this.parameterSpecs().reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  }

  /**
   * Parameter `name` of this module from `params`, checked for presence and shape. Layers read their
   * weights through this in `forward`.
   */
  protected param(params: Params, name: string): Tensor {
    const full = this.sub(name);
    const t = params[full];
    const spec = this.ownParams.find((s) => s.name === full);
    if (!t) fail(this.label, `parameter ${full} is missing from the parameters passed to forward`);
    if (spec && !sameShape(t.shape, spec.shape)) {
      fail(this.label, `parameter ${full} has shape ${fmtShape(t.shape)}, expected ${fmtShape(spec.shape)}`);
    }
    return t;
  }

  /** Fresh parameters drawn from `key` (each parameter from its own key, folded in from its name). */
  initParameters(key: Key): Params {
    const out: Params = {};
    for (const s of this.parameterSpecs()) out[s.name] = initialize(s.init, s.shape, keyForName(key, s.name));
    return out;
  }

  /** Sets the key used for lazy initialisation and drops the held parameters. */
  init(key: Key): this {
    this.initKey = key;
    this.values = null;
    return this;
  }

  /** The held parameters (initialised from the init key on first use), by full name in registration order. */
  parameters(): Params {
    if (!this.values) this.values = new Map(Object.entries(this.initParameters(this.initKey)));
    return Object.fromEntries(this.values);
  }

  /** Replaces the held parameters; every parameter must be present with its shape, and nothing else. */
  setParameters(params: Params): void {
    this.loadStateDict(params, { strict: true });
  }

  /** The held parameters as a state dict (diffusers names; same tensors as `parameters()`). */
  stateDict(): Params {
    return this.parameters();
  }

  /**
   * Loads a state dict (by diffusers name). Shape mismatches are always errors; with `strict` (default)
   * missing and unexpected names are errors too; otherwise missing parameters keep their values and
   * unexpected ones are ignored (both are returned). Errors list every problem, one per line:
   * `conv_in.weight: checkpoint has [32, 3, 3, 3], model expects [32, 4, 3, 3]`.
   */
  loadStateDict(
    dict: Params | ReadonlyMap<string, Tensor>,
    options: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    const strict = options.strict ?? true;
    const entries = dict instanceof Map ? new Map(dict) : new Map(Object.entries(dict as Params));
    const specs = this.parameterSpecs();
    const known = new Set(specs.map((s) => s.name));
    const missing = specs.filter((s) => !entries.has(s.name)).map((s) => s.name);
    const unexpected = [...entries.keys()].filter((k) => !known.has(k));
    const problems: string[] = [];
    for (const s of specs) {
      const t = entries.get(s.name);
      if (!t) continue;
      if (!sameShape(t.shape, s.shape)) {
        problems.push(`${s.name}: checkpoint has ${fmtShape(t.shape)}, model expects ${fmtShape(s.shape)}`);
      } else if (t.dtype !== "float32") {
        problems.push(`${s.name}: checkpoint has dtype ${t.dtype}, model expects float32`);
      }
    }
    if (strict && missing.length) problems.push(`missing from the checkpoint: ${missing.join(", ")}`);
    if (strict && unexpected.length) problems.push(`unexpected in the checkpoint: ${unexpected.join(", ")}`);
    if (problems.length) {
      throw new LayerError(`${this.label}: cannot load state dict:\n  ${problems.join("\n  ")}`);
    }
    const current = missing.length ? this.parameters() : {};
    this.values = new Map(specs.map((s) => [s.name, entries.get(s.name) ?? current[s.name]!]));
    return { missing, unexpected };
  }
}
