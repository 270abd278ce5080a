// ESLint (flat config) of the Desk: typescript-eslint's and react-hooks' recommended rules on the
// sources, the Vite plugins and the unit and end-to-end tests. `npm run lint` (= `eslint .`); the
// test command runs it as desk:lint. No warnings: every rule the presets set to "warn" is an error
// here, so `eslint .` fails on anything it reports (as `--max-warnings 0` would).
// typescript-eslint 8.74 supports TypeScript >=4.8.4 <6.1.0 (a peer dependency): moving to
// TypeScript 6.1 needs a typescript-eslint that supports it.
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";

/** The same configs with each "warn" (or 1) severity raised to "error". */
function warningsAsErrors(configs) {
  const raise = (v) => (v === "warn" || v === 1 ? "error" : v);
  return configs.map((c) =>
    c.rules
      ? {
          ...c,
          rules: Object.fromEntries(
            Object.entries(c.rules).map(([name, v]) => [name, Array.isArray(v) ? [raise(v[0]), ...v.slice(1)] : raise(v)]),
          ),
        }
      : c,
  );
}

export default warningsAsErrors(
  defineConfig([
    // The build's output and the packages (npm's cache too). The end-to-end tests' artifacts are
    // screenshots in M_E2E_ARTIFACTS or <repo>/build/desk-e2e, outside desk/.
    globalIgnores(["dist/", "**/node_modules/", ".npm-cache/"]),
    { linterOptions: { reportUnusedDisableDirectives: "error" } },
    tseslint.configs.recommended,
    {
      files: ["**/*.{ts,tsx}"],
      extends: [reactHooks.configs.flat.recommended],
      rules: {
        "react-hooks/rules-of-hooks": "error",
        "react-hooks/exhaustive-deps": "error",
      },
    },
  ]),
);
