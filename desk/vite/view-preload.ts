// view-preload: lets index.html's boot script modulepreload the chunks of the view a URL opens
// (the list or the form) while the shell's JavaScript is still downloading, instead of after it
// has evaluated. Replaces the `/*fm-view-chunks*/{}` placeholder of index.html with
// {"list": [urls], "form": [urls]}: each view's chunk and the chunks it imports that the entry
// does not already load. Build only; in dev the placeholder stays an empty object.
import type { Plugin } from "vite";

export const VIEWS: Record<string, string> = {
  list: "/src/views/ListView.tsx",
  form: "/src/views/FormView.tsx",
};
export const PLACEHOLDER = "/*fm-view-chunks*/{}";

interface ChunkLike {
  type: "chunk" | "asset";
  fileName: string;
  imports?: string[];
  isEntry?: boolean;
  facadeModuleId?: string | null;
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

export default function viewPreload(): Plugin {
  let base = "/";
  return {
    name: "framework-m-view-preload",
    apply: "build",
    configResolved(c) {
      base = c.base;
    },
    transformIndexHtml: {
      order: "post",
      handler(html, ctx) {
        if (!ctx.bundle || !html.includes(PLACEHOLDER)) return html;
        const urls = Object.fromEntries(
          Object.entries(viewChunks(ctx.bundle as Record<string, ChunkLike>)).map(([v, files]) => [
            v,
            files.map((f) => base + f),
          ]),
        );
        return html.replace(PLACEHOLDER, JSON.stringify(urls));
      },
    },
  };
}
