/** Diffusion math (browser-safe): schedules, forward process, parametrisations, loss weights, samplers. */
export * from "./class-posterior.js";
export * from "./constraints/index.js";
export * from "./editing.js";
export * from "./forward.js";
export * from "./from-config.js";
export * from "./guidance.js";
export * from "./loss-weights.js";
export * from "./noise.js";
export * from "./parametrization.js";
export * from "./registry.js";
export * from "./sample.js";
export * from "./samplers/k-samplers.js";
export * from "./samplers/ode.js";
export * from "./samplers/sde.js";
export * from "./samplers/vp-sde.js";
export type * from "./scheduler.js";
export * from "./schedules.js";
