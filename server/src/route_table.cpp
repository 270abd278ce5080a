// The one table of the routes of `m serve`: installation, `m routes`, the metrics' route label
// and the OpenAPI check (tests/server/openapi_test.cpp) all read it.
#include "routes.hpp"

#include <fmt/format.h>

namespace m::server {

namespace {

using A = RouteAuth;

} // namespace

// A table (excepted from the function-length rule): one row per route, in matching order.
const std::vector<Route>& routes() {
    static const std::vector<Route> table{
        {{"GET", "/health", "liveness and database check", A::none}, "/health", health},
        {{"GET", "/metrics", "Prometheus metrics", A::metrics_token}, "/metrics", metrics},
        {{"GET", "/schema", "OpenAPI 3.1 document generated from the metadata", A::optional},
         "/schema",
         schema},
        {{"GET", "/", "redirects to /desk/", A::none, false}, "/", to_desk},
        {{"GET", "/desk", "redirects to /desk/", A::none, false}, "/desk", to_desk},
        {{"GET", "/desk/{path}", "the Desk (when built)", A::none, false},
         R"(/desk/(.*))",
         desk_file},
        {{"POST", "/api/v1/auth/login", "email/username + password -> tokens", A::none},
         "/api/v1/auth/login",
         login},
        {{"POST", "/api/v1/auth/refresh", "refresh token -> new access token", A::none},
         "/api/v1/auth/refresh",
         refresh},
        {{"POST", "/api/v1/auth/logout", "ends the session of the token", A::optional},
         "/api/v1/auth/logout",
         logout},
        {{"GET", "/api/v1/auth/me", "the current user", A::optional}, "/api/v1/auth/me", me},
        {{"GET", "/api/v1/stream", "live document events (Server-Sent Events)", A::user},
         "/api/v1/stream",
         stream},
        {{"GET", "/api/meta/doctypes", "DocTypes the user may read", A::optional},
         "/api/meta/doctypes",
         meta_list},
        {{"GET", "/api/meta/{doctype}", "one DocType: fields, layout, permissions", A::optional},
         R"(/api/meta/([^/]+))",
         meta_one},
        {{"POST", "/api/v1/rpc/{doctype}/{method}", "a callable controller method", A::optional},
         R"(/api/v1/rpc/([^/]+)/([^/]+))",
         rpc},
        {{"POST", "/api/v1/jobs/{name}", "enqueue a background job (Admin, System)", A::superuser,
          false},
         R"(/api/v1/jobs/([^/]+))",
         job_enqueue},
        {{"GET", "/api/v1/jobs/{id}", "a job's status, attempts, result and error (Admin, System)",
          A::superuser, false},
         R"(/api/v1/jobs/([^/]+))",
         job_status},
        {{"GET", "/api/v1/{doctype}", "list with filters, fields, order_by, paging, count",
          A::optional},
         R"(/api/v1/([^/]+))",
         list},
        {{"POST", "/api/v1/{doctype}", "create", A::optional}, R"(/api/v1/([^/]+))", create},
        {{"GET", "/api/v1/{doctype}/{id}", "read by id or name", A::optional},
         R"(/api/v1/([^/]+)/([^/]+))",
         get},
        {{"PUT", "/api/v1/{doctype}/{id}", "partial update (optimistic concurrency)", A::optional},
         R"(/api/v1/([^/]+)/([^/]+))",
         update},
        {{"DELETE", "/api/v1/{doctype}/{id}", "delete", A::optional},
         R"(/api/v1/([^/]+)/([^/]+))",
         remove},
        {{"GET", "/api/v1/{doctype}/{id}/versions", "version history (track_changes DocTypes)",
          A::optional},
         R"(/api/v1/([^/]+)/([^/]+)/versions)",
         versions},
        {{"POST", "/api/v1/{doctype}/{id}/submit", "submit (docstatus 0 -> 1)", A::optional},
         R"(/api/v1/([^/]+)/([^/]+)/(submit))",
         transition},
        {{"POST", "/api/v1/{doctype}/{id}/cancel", "cancel (docstatus 1 -> 2)", A::optional},
         R"(/api/v1/([^/]+)/([^/]+)/(cancel))",
         transition},
    };
    return table;
}

const std::vector<RouteInfo>& route_table() {
    static const std::vector<RouteInfo> infos = [] {
        std::vector<RouteInfo> out;
        for (const auto& r : routes()) out.push_back(r.info);
        return out;
    }();
    return infos;
}

const RouteInfo& route_info(std::string_view method, std::string_view path) {
    for (const RouteInfo& r : route_table()) {
        if (r.method == method && r.path == path) return r;
    }
    throw core::Error(core::ErrorKind::internal,
                      fmt::format("no route {} {} in the route table", method, path));
}

void install_routes(Api& api) {
    install_middleware(api);
    auto& svr = api.http.routes();
    for (const Route& r : routes()) {
        // The pattern names the route in the metrics; every error is answered as JSON.
        httplib::Server::Handler h = [&api, &r](const httplib::Request& req,
                                                httplib::Response& res) {
            t_request.route = r.info.path;
            try {
                r.handler(api, req, res);
            } catch (const core::Error& e) {
                send_error(res, e);
            } catch (const std::exception& e) {
                send_error(res, core::Error(core::ErrorKind::internal, e.what()));
            }
        };
        const std::string& m = r.info.method;
        if (m == "GET") {
            svr.Get(r.regex, std::move(h));
        } else if (m == "POST") {
            svr.Post(r.regex, std::move(h));
        } else if (m == "PUT") {
            svr.Put(r.regex, std::move(h));
        } else if (m == "DELETE") {
            svr.Delete(r.regex, std::move(h));
        }
    }
}

} // namespace m::server
