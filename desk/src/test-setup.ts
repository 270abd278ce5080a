import { configure } from "@testing-library/react";

// Vitest setup: jsdom lacks matchMedia, which antd's responsive observer needs.
if (typeof window !== "undefined" && !window.matchMedia) {
  window.matchMedia = (query: string) =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => {},
      removeListener: () => {},
      addEventListener: () => {},
      removeEventListener: () => {},
      dispatchEvent: () => false,
    }) as unknown as MediaQueryList;
}

// waitFor/findBy wait for a condition; their default deadline (1 s) is a timing assumption that
// a loaded 2-core CI machine breaks (the first antd form of a file takes over a second to mount
// there). A generous deadline costs nothing when the condition holds early; vite.config.ts gives
// each test more time than this.
configure({ asyncUtilTimeout: 15000 });
