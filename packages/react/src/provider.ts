import { TetherClient, type TetherClientOptions } from '@tether/client';
import {
  createContext,
  createElement,
  type ReactNode,
  useContext,
  useEffect,
  useRef,
  useState,
} from 'react';

const TetherContext = createContext<TetherClient | null>(null);

/** Props of {@link TetherProvider}: give either a `client` or a `url`. */
export interface TetherProviderProps {
  /**
   * A client the application owns: the provider shares it and never connects or closes
   * it. Give either this or `url`.
   */
  client?: TetherClient;
  /**
   * Create the client here: the provider creates it when it mounts (and again when `url`
   * changes) and closes it when it unmounts, so no socket outlives the component.
   */
  url?: string | URL;
  /** Options of the client the provider creates (read when it is created). */
  options?: TetherClientOptions;
  children?: ReactNode;
}

/**
 * Makes a Tether client available to {@link useTether}, {@link useSubscription} and
 * {@link useTetherEvent} below it.
 *
 * With `url`, the client is created in an effect, not during render: React's StrictMode
 * mounts, unmounts and mounts again in development, and a client made during render
 * would be made twice. The first mount's client is closed before it connects (a new
 * client connects in a microtask), so StrictMode opens exactly one connection. Until the
 * effect ran, hooks see no client (`state: 'idle'`).
 */
export function TetherProvider(props: TetherProviderProps): ReactNode {
  const { client: given, url, children } = props;
  if (given !== undefined && url !== undefined)
    throw new TypeError('TetherProvider: give either client or url, not both');
  if (given === undefined && url === undefined)
    throw new TypeError('TetherProvider: give a client or a url');
  const options = useRef(props.options);
  options.current = props.options;
  const [owned, setOwned] = useState<TetherClient | null>(null);
  const key = url === undefined ? undefined : String(url);
  useEffect(() => {
    if (key === undefined) return;
    const client = new TetherClient(key, options.current);
    setOwned(client);
    return () => {
      setOwned((current) => (current === client ? null : current));
      void client.close();
    };
  }, [key]);
  const value = given ?? owned;
  return createElement(TetherContext.Provider, { value }, children);
}

/** The client of the nearest {@link TetherProvider} (null until a `url` provider created it). */
export function useTetherClient(): TetherClient | null {
  return useContext(TetherContext);
}
