// The Desk's files: `/` and `/desk` redirect to `/desk/`; a file of the built Desk, else its
// index.html (a client-side route of the single-page app); 503 with a page while it is not built.
#include "routes.hpp"

namespace m::server {

void to_desk(Api&, const httplib::Request&, httplib::Response& res) {
    res.set_redirect("/desk/");
}

void desk_file(Api& api, const httplib::Request& req, httplib::Response& res) {
    if (!api.desk) {
        res.status = 503;
        res.set_content("<!doctype html><title>m</title><p>The Desk is not built yet. The API is "
                        "at <a href=\"/schema\">/schema</a>.",
                        "text/html; charset=utf-8");
        return;
    }
    // Never a file outside the Desk folder (through `..` or a symlink): DeskFiles checks.
    // Vite names files in assets/ by their content hash: they never change, so browsers may keep
    // them (a rebuilt Desk has new names in its index.html, which is no-cache).
    auto file = api.desk->file(req.matches[1].str());
    DeskFile page = file ? std::move(*file) : api.desk->index();
    res.set_header("Cache-Control",
                   page.immutable ? "public, max-age=31536000, immutable" : "no-cache");
    res.set_content(std::move(page.content), page.content_type);
}

} // namespace m::server
