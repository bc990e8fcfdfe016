/** Helpers shared by the parts of the store contract suite. */
import type { Publication, Store, StoreOptions } from '@tether/server/store';
import { StoreError } from '@tether/server/store';
import { expect } from 'vitest';

/** Builds a store for one test; the harness closes it afterwards. */
export type MakeStore = (options?: StoreOptions) => Store;

export async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreError);
  return err as StoreError;
}

export const offsets = (pubs: Publication[]): number[] => pubs.map((p) => p.offset);
export const T0 = 1_700_000_000_000;
