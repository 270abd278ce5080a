// Boot prefetch (read by src/prefetch.ts): start the requests the first screen needs while the
// Desk's JavaScript downloads and evaluates. Each is a promise of the JSON body, or null when the
// answer was not 2xx (the app then asks again the normal way: refresh, re-login).
// A classic script loaded by index.html before the module entry, not inline: the server's
// Content-Security-Policy (script-src 'self') refuses inline scripts. vite/view-preload.ts fills in
// the route patterns (from src/routes.ts, in dev and at build time) and the view chunks (at build
// time), and emits this file as assets/boot-prefetch-<hash>.js.
(function () {
  // The Desk's route patterns (RegExp sources of src/routes.ts's bootRoutes()); null if this file
  // was served without vite/view-preload.ts (then nothing is prefetched: the app fetches it all).
  var routes = /*fm-routes*/null;
  var path = location.pathname;
  if (!routes || !new RegExp(routes.desk).test(path) || new RegExp(routes.login).test(path)) return;
  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }
  // The chunks of the view this URL opens (filled in by vite/view-preload.ts at build time).
  var views = /*fm-view-chunks*/{};
  // list and form capture the DocType first
  var list = new RegExp(routes.list).exec(path);
  var form = list ? null : new RegExp(routes.form).exec(path);
  var view = list ? "list" : form ? "form" : null;
  (view && views[view] || []).forEach(function (href) {
    var link = document.createElement("link");
    link.rel = "modulepreload";
    link.crossOrigin = "";
    link.href = href;
    document.head.appendChild(link);
  });
  var m = list || form;
  var doctype = null;
  try {
    doctype = m ? decodeURIComponent(m[1]) : null;
  } catch {
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
