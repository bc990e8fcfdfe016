/**
 * Typo detection for setting names: `TETHER_PROT` is a slip for `TETHER_PORT`, while
 * `TETHER_APP_SECRET` is the application's own variable and none of our business.
 */

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] as number;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(rows - 1, cols - 1);
}

/**
 * The known name `name` is most likely a typo of, if any: at most 2 edits apart (1 for
 * names of 4 characters or fewer after `prefix`, where 2 edits make anything alike).
 */
export function nearestName(
  name: string,
  known: Iterable<string>,
  prefix = '',
): string | undefined {
  const tail = name.slice(prefix.length);
  const limit = tail.length <= 4 ? 1 : 2;
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    if (!candidate.startsWith(prefix)) continue;
    const distance = editDistance(tail, candidate.slice(prefix.length));
    if (distance <= limit && (best === undefined || distance < best.distance))
      best = { name: candidate, distance };
  }
  return best?.name;
}
