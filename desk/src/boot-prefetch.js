// Boot prefetch (read by src/prefetch.ts): start the requests the first screen needs while the
// Desk's JavaScript downloads and evaluates. Each is a promise of the JSON body, or null when the
// answer was not 2xx (the app then asks again the normal way: refresh, re-login).
// A classic script loaded by index.html before the module entry, not inline: the server's
// Content-Security-Policy (script-src 'self') refuses inline scripts. At build time
// vite/view-preload.ts fills in the view chunks and emits this file as assets/boot-prefetch-<hash>.js.
(function () {
  var path = location.pathname;
  if (!/^\/desk(\/|$)/.test(path) || /^\/desk\/login(\/|$)/.test(path)) return;
  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }
  // The chunks of the view this URL opens (filled in by vite/view-preload.ts at build time).
  var views = /*fm-view-chunks*/{};
  var view = /^\/desk\/app\/[^/]+\/?$/.test(path) ? "list" : /^\/desk\/app\/[^/]+\/[^/]+/.test(path) ? "form" : null;
  (view && views[view] || []).forEach(function (href) {
    var link = document.createElement("link");
    link.rel = "modulepreload";
    link.crossOrigin = "";
    link.href = href;
    document.head.appendChild(link);
  });
  var m = /^\/desk\/app\/([^/]+)/.exec(path);
  var doctype = null;
  try {
    doctype = m ? decodeURIComponent(m[1]) : null;
  } catch (e) {
    // a malformed URL: the app shows its own error
  }
  window.__fmBoot = {
    at: Date.now(),
    me: get("/api/v1/auth/me"),
    doctypes: get("/api/meta/doctypes?show_in_desk=1"),
    doctype: doctype,
    meta: doctype ? get("/api/meta/" + encodeURIComponent(doctype)) : null,
  };
})();
