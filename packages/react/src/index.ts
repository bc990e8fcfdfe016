/**
 * @tether/react — React 19 hooks over the Tether client.
 *
 * ```tsx
 * <TetherProvider url="wss://example.com/ws" options={{ token: getToken }}>
 *   <Feed />
 * </TetherProvider>
 *
 * function Feed() {
 *   const { state, health } = useTether();
 *   const { items, gaps } = useSubscription('prices:btc', { last: 20, maxItems: 50 });
 *   useTetherEvent('recovered', (e) => console.log(`back after ${e.downtimeMs} ms`));
 *   return <p>{state} ({health.level}): {items.at(-1)?.data}</p>;
 * }
 * ```
 *
 * StrictMode's double mount and every unmount are handled: a provider given a `url`
 * opens one connection and closes it on unmount; every listener a hook adds is removed.
 */

export {
  DEFAULT_MAX_ITEMS,
  NoClientError,
  type UseSubscription,
  type UseSubscriptionOptions,
  type UseTether,
  type UseTetherOptions,
  useSubscription,
  useTether,
  useTetherEvent,
} from './hooks.js';
export { TetherProvider, type TetherProviderProps, useTetherClient } from './provider.js';
export type { TetherSnapshot } from './store.js';
