/** Optimisation (browser-safe, traceable): AdamW, gradient clipping, learning-rate schedules, EMA. */
export * from "../ema.js";
export * from "./adamw.js";
export * from "./clip.js";
export * from "./lr-schedule.js";
