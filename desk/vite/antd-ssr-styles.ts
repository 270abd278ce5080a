// antd-ssr-styles: generates, at build time, the antd CSS-in-JS styles of the Desk's first screen
// (the shell and a list) and puts them into index.html, the way antd's SSR guide does: render a
// sampler of the components with react-dom/server inside <StyleProvider cache={createCache()}>,
// then extractStyle(cache). The styles come with @ant-design/cssinjs's cache-path map, so the
// browser's cssinjs finds each of them already in the page and skips generating and serializing
// it (only components outside the sampler are styled at run time, as before).
// The sampler must use the same theme as src/App.tsx (a bare <ConfigProvider> and <AntApp>):
// another token gives other hashes and the pre-rendered styles are simply not used.
// Build only; in dev the Desk styles itself at run time.
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Plugin } from "vite";

/** The <style> tags of the sampler, rendered with the Desk's own react, react-dom and antd. */
export function antdStyles(deskRoot: string): string {
  // The CommonJS builds, loaded at run time (not bundled into the Vite config): antd and the
  // StyleProvider must share one @ant-design/cssinjs instance.
  const require = createRequire(join(deskRoot, "package.json"));
  const React = require("react");
  const { renderToString } = require("react-dom/server");
  const antd = require("antd");
  const { createCache, extractStyle, StyleProvider } = require("@ant-design/cssinjs");
  const { App, Button, ConfigProvider, Layout, Menu, Space, Spin, Table, Typography } = antd;
  const h = React.createElement;
  const cache = createCache();
  // The components of DeskLayout and ListView as a cold /desk/app/<DocType> renders them.
  const menu = h(Menu, {
    mode: "inline",
    selectedKeys: ["b"],
    items: [{ key: "g", type: "group", label: "G", children: [{ key: "b", label: "B" }] }],
  });
  const list = [
    h(Space, { key: "s" }, h(Typography.Title, { level: 4 }, "T"), h(Button, { type: "primary" }, "B")),
    h(Typography.Text, { key: "t", type: "secondary" }, "t"),
    h(Spin, { key: "spin" }),
    h(Table, {
      key: "table",
      rowKey: "id",
      size: "middle",
      columns: [{ title: "N", dataIndex: "n", sorter: true }],
      dataSource: [{ id: 1, n: "x" }],
      pagination: { total: 100, showSizeChanger: true },
      scroll: { x: "max-content" },
    }),
  ];
  const page = h(
    Layout,
    null,
    h(Layout.Header, null),
    h(Layout, null, h(Layout.Sider, { theme: "light" }, menu), h(Layout.Content, null, ...list)),
  );
  renderToString(h(StyleProvider, { cache }, h(ConfigProvider, null, h(App, null, page))));
  return extractStyle(cache);
}

export default function antdSsrStyles({ deskRoot }: { deskRoot: string }): Plugin {
  let production = false;
  return {
    name: "framework-m-antd-ssr-styles",
    apply: "build",
    configResolved(c) {
      // The bundle's antd and the Node one must agree on the mode: a development antd hashes its
      // class names differently ("css-dev-only-do-not-override-..."), so its styles would not match.
      production = c.isProduction && process.env.NODE_ENV === "production";
    },
    transformIndexHtml: {
      order: "post",
      handler(html) {
        if (!production) return html;
        const styles = antdStyles(deskRoot);
        // Before the app's own stylesheets/scripts, like the styles antd's SSR guide inlines.
        return html.includes("</head>") ? html.replace("</head>", `${styles}\n  </head>`) : html;
      },
    },
  };
}
