// React.lazy with a preload(): the boot starts loading the first screen's view while the rest of
// the Desk evaluates, and once the module is there the view renders without suspending (a plain
// lazy() suspends on its first render even when its chunk has already arrived).
import { lazy, type ComponentType, type LazyExoticComponent } from "react";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Preloadable<T extends ComponentType<any>> = LazyExoticComponent<T> & { preload(): Promise<unknown> };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function lazyWithPreload<T extends ComponentType<any>>(load: () => Promise<{ default: T }>): Preloadable<T> {
  let loaded: { default: T } | undefined;
  let pending: Promise<{ default: T }> | undefined;
  const preload = () =>
    (pending ??= load().then(
      (m) => (loaded = m),
      (e) => {
        pending = undefined; // let a later render try again (and show the error if it fails)
        throw e;
      },
    ));
  // A thenable that calls back at once: React.lazy reads a resolved module without suspending.
  const Component = lazy(() =>
    loaded ? ({ then: (resolve: (m: { default: T }) => void) => resolve(loaded!) } as Promise<{ default: T }>) : preload(),
  );
  return Object.assign(Component, { preload });
}
