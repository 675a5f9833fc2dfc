export * from "./hook.js";
export * from "./levels.js";
export * from "./mask.js";
export * from "./replace.js";
