// The routes that describe the server itself: /health, /metrics and /schema.
#include "routes.hpp"

#include "m/core/crypto.hpp"

#include <fmt/format.h>

namespace m::server {

/// Up or down, never why: the database's error text goes to the log only.
void health(Api& api, const httplib::Request&, httplib::Response& res) {
    Json body = Json::object();
    try {
        api.db.ping();
        body["status"] = "ok";
        body["database"] = "ok";
        send_json(res, 200, body);
    } catch (const Error& e) {
        log_line(fmt::format("ts={} level=error request_id={} msg=health error={:?}",
                             utc_now_text(), t_request.id, e.what()));
        body["status"] = "unavailable";
        body["database"] = "unavailable";
        send_json(res, 503, body);
    }
}

/// server.metrics_token, when set: /metrics wants `Authorization: Bearer <it>`.
void metrics(Api& api, const httplib::Request& req, httplib::Response& res) {
    if (!api.options.metrics_token.empty() &&
        !core::equal_constant_time(req.get_header_value("Authorization"),
                                   "Bearer " + api.options.metrics_token)) {
        throw Error(ErrorKind::unauthenticated, "/metrics needs its token");
    }
    MetricsGauges g;
    auto s = api.http.stats();
    g.connections = s.connections;
    g.streams = s.streams;
    auto pool = api.db.pool_stats();
    g.db_pool_size = pool.size;
    g.db_pool_in_use = pool.in_use;
    res.set_content(api.metrics.text(g), "text/plain; version=0.0.4");
}

/// A guest sees only the DocTypes a guest may use; a bad token is a 401.
void schema(Api& api, const httplib::Request& req, httplib::Response& res) {
    core::Principal who = api.authenticate(req);
    res.set_content(who.is_guest() ? api.guest_openapi_text : api.openapi_text, "application/json");
}

} // namespace m::server
