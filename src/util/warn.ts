/**
 * Warnings of the library (unknown config keys, unsafe sampling settings): one injectable sink, so a
 * program, a test or the web page decides where they go. Default `console.warn`. Browser-safe.
 */

/** Receives one warning message. */
export type WarnFn = (message: string) => void;

const consoleWarn: WarnFn = (message) => console.warn(message);
let sink: WarnFn = consoleWarn;

/** Sends `message` to the current sink (or to `to` when given). */
export function warn(message: string, to?: WarnFn): void {
  (to ?? sink)(message);
}

/** Replaces the warning sink (null: back to console.warn); returns the previous one. */
export function setWarn(fn: WarnFn | null): WarnFn {
  const previous = sink;
  sink = fn ?? consoleWarn;
  return previous;
}
