// @vitest-environment node
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { antdStyles } from "./antd-ssr-styles.ts";

const deskRoot = fileURLToPath(new URL("..", import.meta.url));

describe("antd-ssr-styles", () => {
  it("renders the first screen's antd styles with cssinjs's cache-path map", () => {
    const html = antdStyles(deskRoot);
    // the map the browser's cssinjs reads to skip generating these styles
    expect(html).toMatch(/\.data-ant-cssinjs-cache-path\{content:"[^"]*\|Table-Table\|ant-table\|/);
    for (const cls of [".ant-layout", ".ant-menu", ".ant-btn", ".ant-table", ".ant-pagination", ".ant-spin"]) {
      expect(html).toContain(cls);
    }
    expect(html).toMatch(/<style[^>]* data-css-hash="[^"]+"/);
  });
});
