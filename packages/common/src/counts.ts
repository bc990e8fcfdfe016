/**
 * Sums of counters over many sources (endpoints, receivers), so each report names its
 * fields once instead of writing a zeroed object and an addition per field.
 */

/** Sums the numeric fields `keys` over `items`; every key is present, 0 when `items` is empty. */
export function sumCounts<K extends string>(
  items: Iterable<Readonly<Record<K, number>>>,
  keys: readonly K[],
): Record<K, number> {
  const total = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const item of items) for (const k of keys) total[k] += item[k];
  return total;
}

/** Sums counts kept by key (by reason, by close code) over many records. */
export function sumByKey(
  records: Iterable<Readonly<Record<string, number>>>,
): Record<string, number> {
  const total: Record<string, number> = {};
  for (const r of records) {
    for (const [key, n] of Object.entries(r)) total[key] = (total[key] ?? 0) + n;
  }
  return total;
}
