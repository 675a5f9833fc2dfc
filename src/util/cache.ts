/**
 * A value cached per (model object, weights object, thread count): the compiled forwards of
 * pipelines/generate.ts and eval/extract.ts. Weak on the two objects, so a dropped model or a
 * dropped set of weights frees its compiled sessions. Browser-safe.
 */
export type ForwardCache<M extends object, P extends object, V> = WeakMap<M, WeakMap<P, Map<number, V>>>;

/** `cache`'s value for (model, params, threads), built by `build` on first use. */
export function cachedForward<M extends object, P extends object, V>(
  cache: ForwardCache<M, P, V>,
  model: M,
  params: P,
  threads: number,
  build: () => V,
): V {
  let byParams = cache.get(model);
  if (!byParams) {
    byParams = new WeakMap();
    cache.set(model, byParams);
  }
  let byThreads = byParams.get(params);
  if (!byThreads) {
    byThreads = new Map();
    byParams.set(params, byThreads);
  }
  let v = byThreads.get(threads);
  if (v === undefined) {
    v = build();
    byThreads.set(threads, v);
  }
  return v;
}
