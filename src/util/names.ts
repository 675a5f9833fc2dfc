/**
 * "Did you mean ...?" for misspelled names (config keys, sampler names): the closest candidate by
 * Levenshtein edit distance, when it is small compared with the name. Browser-safe.
 */

/** Levenshtein distance (insertions, deletions, substitutions; each costs 1). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(sub, prev[j]! + 1, row[j - 1]! + 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `name` (case-insensitive) if at most max(1, floor(len / 3)) edits away
 * (two for "clip_smaple" -> "clip_sample", one for "hiden_size"); else undefined.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= limit ? best : undefined;
}

/** `; did you mean "X"?` for a close candidate, else "". */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const c = closestName(name, candidates);
  return c === undefined ? "" : `; did you mean ${JSON.stringify(c)}?`;
}
