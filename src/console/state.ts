/** The console's shared state: small observable values, read in components with `useSignal`. */
import { useEffect, useReducer } from 'preact/hooks';

export interface Signal<T> {
  get(): T;
  set(value: T): void;
  subscribe(listener: () => void): () => void;
}

export function signal<T>(initial: T): Signal<T> {
  let value = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => value,
    set(next) {
      value = next;
      for (const listener of listeners) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function useSignal<T>(s: Signal<T>): T {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const seen = s.get();
  useEffect(() => {
    const unsubscribe = s.subscribe(() => rerender(undefined));
    // A change between this render and the subscription would otherwise go unseen.
    if (s.get() !== seen) rerender(undefined);
    return unsubscribe;
  }, [s]);
  return seen;
}
