// view-preload: emits the boot prefetch (src/boot-prefetch.js) as an external script and lets it
// modulepreload the chunks of the view a URL opens (the list or the form) while the shell's
// JavaScript is still downloading, instead of after it has evaluated.
// The boot script is a file, not an inline <script>, because the server's Content-Security-Policy
// (script-src 'self') refuses inline scripts. Vite does not bundle a classic <script src>, so this
// plugin does it: index.html's tag is swapped for a marker, and once the chunk names are known the
// script's `/*fm-view-chunks*/{}` placeholder is replaced with {"list": [urls], "form": [urls]}
// (each view's chunk and the chunks it imports that the entry does not already load), the result
// is emitted as assets/boot-prefetch-<hash>.js, and the marker becomes its <script src>.
// The script's `/*fm-routes*/null` placeholder becomes the Desk's route patterns (bootRoutes() of
// src/routes.ts, the module the router uses), at build time and when `vite dev` serves the file;
// in dev the view chunks placeholder stays {}.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Plugin } from "vite";
import { bootRoutes } from "../src/routes.ts";

export const VIEWS: Record<string, string> = {
  list: "/src/views/ListView.tsx",
  form: "/src/views/FormView.tsx",
};
export const PLACEHOLDER = "/*fm-view-chunks*/{}";
export const ROUTES_PLACEHOLDER = "/*fm-routes*/null";
/** index.html's tag of the boot script (a path from the Desk's root). */
export const BOOT_SCRIPT = "/src/boot-prefetch.js";
const BOOT_TAG = `<script src="${BOOT_SCRIPT}"></script>`;
const MARKER = "<!--fm-boot-prefetch-->";

interface ChunkLike {
  type: "chunk" | "asset";
  fileName: string;
  imports?: string[];
  isEntry?: boolean;
  facadeModuleId?: string | null;
}

interface AssetLike {
  type: "chunk" | "asset";
  fileName: string;
  source?: string | Uint8Array;
}

/** Chunk file names per view: the view's chunk and its static imports the entry lacks. */
export function viewChunks(bundle: Record<string, ChunkLike>): Record<string, string[]> {
  const closure = (start: string[], into = new Set<string>()) => {
    const todo = [...start];
    while (todo.length) {
      const f = todo.pop()!;
      if (into.has(f) || !bundle[f]) continue;
      into.add(f);
      todo.push(...(bundle[f].imports ?? []));
    }
    return into;
  };
  const chunks = Object.values(bundle).filter((c) => c.type === "chunk");
  const entry = closure(chunks.filter((c) => c.isEntry).map((c) => c.fileName));
  const out: Record<string, string[]> = {};
  for (const [view, suffix] of Object.entries(VIEWS)) {
    const chunk = chunks.find((c) => c.facadeModuleId?.replace(/\\/g, "/").endsWith(suffix));
    if (chunk) out[view] = [...closure([chunk.fileName])].filter((f) => !entry.has(f));
  }
  return out;
}

/** The boot script's text with the route patterns filled in. */
export function withRoutes(source: string): string {
  if (!source.includes(ROUTES_PLACEHOLDER)) throw new Error(`${BOOT_SCRIPT} lacks ${ROUTES_PLACEHOLDER}`);
  // A function replacement: the patterns' `$` must not be read as replacement patterns.
  return source.replace(ROUTES_PLACEHOLDER, () => JSON.stringify(bootRoutes()));
}

/** The boot script's text with the route patterns and the view chunks' URLs filled in. */
export function bootScript(source: string, bundle: Record<string, ChunkLike>, base: string): string {
  const urls = Object.fromEntries(
    Object.entries(viewChunks(bundle)).map(([v, files]) => [v, files.map((f) => base + f)]),
  );
  return withRoutes(source).replace(PLACEHOLDER, () => JSON.stringify(urls));
}

export default function viewPreload({ deskRoot }: { deskRoot: string }): Plugin[] {
  const bootFile = join(deskRoot, BOOT_SCRIPT).replace(/\\/g, "/");
  const serve: Plugin = {
    // `vite dev` serves the boot script through its transform pipeline: the routes are filled in there.
    name: "framework-m-view-preload:serve",
    apply: "serve",
    enforce: "pre", // before Vite's own transform, which drops the placeholder's comment
    transform(code, id) {
      return id.replace(/\\/g, "/").split("?")[0] === bootFile ? withRoutes(code) : undefined;
    },
  };
  return [viewPreloadBuild({ deskRoot }), serve];
}

function viewPreloadBuild({ deskRoot }: { deskRoot: string }): Plugin {
  let base = "/";
  return {
    name: "framework-m-view-preload",
    apply: "build",
    configResolved(c) {
      base = c.base;
    },
    transformIndexHtml: {
      order: "pre",
      handler(html) {
        return html.replace(BOOT_TAG, MARKER);
      },
    },
    generateBundle: {
      // After vite:build-html has emitted index.html.
      order: "post",
      handler(_options, bundle) {
        const pages = (Object.values(bundle) as AssetLike[]).filter(
          (a) => a.type === "asset" && a.fileName.endsWith(".html") && String(a.source ?? "").includes(MARKER),
        );
        if (!pages.length) return;
        const source = bootScript(
          readFileSync(join(deskRoot, BOOT_SCRIPT), "utf8"),
          bundle as unknown as Record<string, ChunkLike>,
          base,
        );
        const ref = this.emitFile({ type: "asset", name: "boot-prefetch.js", source });
        const tag = `<script src="${base}${this.getFileName(ref)}"></script>`;
        for (const page of pages) page.source = String(page.source).replace(MARKER, tag);
      },
    },
  };
}
