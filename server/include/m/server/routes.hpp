// The routes of `m serve` as data: one table (server/src/route_table.cpp) installs them, lists
// them for `m routes`, labels the metrics and is checked against the OpenAPI document.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace m::server {

/// Who may call a route, before any DocType permission is looked at.
enum class RouteAuth {
    none,          ///< anyone (health, the Desk, login)
    metrics_token, ///< anyone, or `Bearer <server.metrics_token>` when that is set
    optional,      ///< a guest too; the DocType's permissions decide
    user,          ///< a logged-in user or an API key
    superuser,     ///< Admin or System
};

/// "none", "metrics-token", "optional", "user", "superuser". Inline: `m routes` (outside the
/// module) prints it.
inline std::string_view to_string(RouteAuth auth) {
    switch (auth) {
    case RouteAuth::none:
        return "none";
    case RouteAuth::metrics_token:
        return "metrics-token";
    case RouteAuth::optional:
        return "optional";
    case RouteAuth::user:
        return "user";
    case RouteAuth::superuser:
        return "superuser";
    }
    return "none";
}

/// One route of the API.
struct RouteInfo {
    std::string method;
    std::string path; ///< pattern: /api/v1/{doctype}/{id}
    std::string summary;
    RouteAuth auth = RouteAuth::none;
    bool in_schema = true; ///< described by GET /schema (the Desk's files and `/` are not)
};

/// Every route `m serve` answers, in matching order.
const std::vector<RouteInfo>& route_table();

/// The route of `method` and `path` (a pattern of the table). Throws Error{internal} when the
/// table has none: a caller names a route that does not exist.
const RouteInfo& route_info(std::string_view method, std::string_view path);

} // namespace m::server
