// The Desk's end-to-end tests: a real `m serve` (started by the harness on a free port, in a
// throwaway copy of the demo project) driven through Debian's Chromium by playwright-core.
// `M_BIN` = the m to test (the test command passes its build's m).
import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  test: {
    environment: "node",
    include: ["**/*.e2e.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 300_000, // m build (C++ and the Desk) runs in beforeAll
    // A shared 2-core machine: what the UI shows may take seconds, not the default 1 s.
    expect: { poll: { timeout: 10_000, interval: 100 } },
  },
});
