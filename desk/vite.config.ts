// Vite config of the Desk. Served under /desk/ by `m serve`; `vite dev` proxies /api to a
// running `m serve` (FM_API, default http://127.0.0.1:8000).
// Plugins (virtual:framework-m-plugins) come from desk/plugins/* and from FM_APPS_DIRS
// (<apps>/*/frontend); FM_DESK_MODE=monolith|mfe picks the build mode (see vite/framework-m-vite-plugin.ts).
// Works from any working directory: `node <desk>/node_modules/vite/bin/vite.js build --config <desk>/vite.config.ts <desk>`.
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import frameworkMPlugins from "./vite/framework-m-vite-plugin.ts";
import viewPreload from "./vite/view-preload.ts";
import antdSsrStyles from "./vite/antd-ssr-styles.ts";
import { BASENAME } from "./src/routes.ts";

const deskRoot = fileURLToPath(new URL(".", import.meta.url));
const sdk = fileURLToPath(new URL("./src/sdk/index.ts", import.meta.url));
const api = process.env.FM_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  root: deskRoot,
  base: `${BASENAME}/`, // the router's basename (src/routes.ts)
  plugins: [frameworkMPlugins({ deskRoot }), react(), viewPreload({ deskRoot }), antdSsrStyles({ deskRoot })],
  resolve: { alias: { "@framework-m/sdk": sdk } },
  server: { proxy: { "/api": api, "/health": api } },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test-setup.ts"],
    include: ["src/**/*.test.{ts,tsx}", "vite/**/*.test.ts"],
    testTimeout: 30000, // tests wait for conditions (test-setup.ts); this only bounds a hang
  },
});
