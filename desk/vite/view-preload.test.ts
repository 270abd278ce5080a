// @vitest-environment node
// A real `vite build` of a tiny shell with the Desk's boot script tag and a lazy list view: the
// built index.html has no inline script (the server's CSP has script-src 'self'), the boot
// script is an emitted, hashed file loaded before the module entry, it names the view's chunks and
// carries the route patterns of src/routes.ts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "vite";
import viewPreload, { BOOT_SCRIPT, PLACEHOLDER, ROUTES_PLACEHOLDER } from "./view-preload.ts";
import { bootRoutes } from "../src/routes.ts";

const deskRoot = fileURLToPath(new URL("..", import.meta.url));
let tmp: string;

function write(file: string, text: string) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "desk-boot-"));
  // The same tag as desk/index.html (the plugin reads the script from the Desk's own sources).
  const html = fs.readFileSync(path.join(deskRoot, "index.html"), "utf8");
  expect(html).toContain(`<script src="${BOOT_SCRIPT}"></script>`);
  write(
    path.join(tmp, "index.html"),
    `<!doctype html><html><head><title>t</title>\n<script src="${BOOT_SCRIPT}"></script>\n</head>` +
      `<body><div id="root"></div><script type="module" src="/main.ts"></script></body></html>`,
  );
  write(path.join(tmp, "main.ts"), `import("./src/views/ListView.tsx").then((m) => m.show());\n`);
  write(path.join(tmp, "src/views/ListView.tsx"), `export function show() { document.title = "LIST_VIEW"; }\n`);
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("view-preload", () => {
  it("emits the boot script as an external file before the entry, with the view chunks filled in", async () => {
    const out = path.join(tmp, "dist");
    await build({
      configFile: false,
      logLevel: "silent",
      root: tmp,
      base: "/desk/",
      plugins: [viewPreload({ deskRoot })],
      build: { outDir: out, emptyOutDir: true, minify: false },
    });
    const html = fs.readFileSync(path.join(out, "index.html"), "utf8");
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBe(2);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="/); // no inline script
      expect(body.trim()).toBe("");
    }
    const boot = /<script src="\/desk\/(assets\/boot-prefetch-[\w-]+\.js)"><\/script>/.exec(html);
    expect(boot).toBeTruthy();
    expect(html.indexOf(boot![0])).toBeLessThan(html.indexOf('type="module"'));
    const code = fs.readFileSync(path.join(out, boot![1]!), "utf8");
    expect(code).not.toContain(PLACEHOLDER);
    const views = JSON.parse(/var views = (\{.*\});/.exec(code)![1]!) as Record<string, string[]>;
    expect(views.list).toEqual([expect.stringMatching(/^\/desk\/assets\/ListView-[\w-]+\.js$/)]);
    expect(fs.existsSync(path.join(out, views.list![0]!.replace("/desk/", "")))).toBe(true);
    expect(code).toContain("window.__fmBoot");
    // the route patterns are src/routes.ts's, the router's own
    expect(code).not.toContain(ROUTES_PLACEHOLDER);
    expect(JSON.parse(/var routes = (\{.*\});/.exec(code)![1]!)).toEqual(bootRoutes());
  }, 120_000);
});
