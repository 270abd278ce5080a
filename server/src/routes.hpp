// The route handlers of `m serve`, one function each, grouped by concern in *_routes.cpp, and the
// table that binds them to methods and patterns (route_table.cpp). Internal to server/src.
#pragma once

#include "api.hpp"

#include "m/server/routes.hpp"

namespace m::server {

using RouteHandler = void (*)(Api&, const httplib::Request&, httplib::Response&);

struct Route {
    RouteInfo info;
    const char* regex; ///< what httplib matches; groups are the pattern's {segments}
    RouteHandler handler;
};

/// The table, in matching order.
const std::vector<Route>& routes();
/// Installs the middleware (middleware.cpp) and every route of the table on `api.http`.
void install_routes(Api& api);
/// The request hooks around every route: request id, security headers, UTF-8 check, CORS,
/// error pages, exceptions, the access log and metrics.
void install_middleware(Api& api);

// system_routes.cpp
void health(Api&, const httplib::Request&, httplib::Response&);
void metrics(Api&, const httplib::Request&, httplib::Response&);
void schema(Api&, const httplib::Request&, httplib::Response&);
// desk_routes.cpp
void to_desk(Api&, const httplib::Request&, httplib::Response&);
void desk_file(Api&, const httplib::Request&, httplib::Response&);
// auth_routes.cpp
void login(Api&, const httplib::Request&, httplib::Response&);
void refresh(Api&, const httplib::Request&, httplib::Response&);
void logout(Api&, const httplib::Request&, httplib::Response&);
void me(Api&, const httplib::Request&, httplib::Response&);
// stream_routes.cpp
void stream(Api&, const httplib::Request&, httplib::Response&);
// meta_routes.cpp
void meta_list(Api&, const httplib::Request&, httplib::Response&);
void meta_one(Api&, const httplib::Request&, httplib::Response&);
// job_routes.cpp
void job_enqueue(Api&, const httplib::Request&, httplib::Response&);
void job_status(Api&, const httplib::Request&, httplib::Response&);
// document_routes.cpp
void rpc(Api&, const httplib::Request&, httplib::Response&);
void list(Api&, const httplib::Request&, httplib::Response&);
void create(Api&, const httplib::Request&, httplib::Response&);
void get(Api&, const httplib::Request&, httplib::Response&);
void update(Api&, const httplib::Request&, httplib::Response&);
void remove(Api&, const httplib::Request&, httplib::Response&);
void versions(Api&, const httplib::Request&, httplib::Response&);
void transition(Api&, const httplib::Request&, httplib::Response&);

} // namespace m::server
