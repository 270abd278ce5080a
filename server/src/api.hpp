// What the route handlers of `m serve` share (internal to server/src): the request's context, the
// reply helpers (one error mapping: error_status/send_error), the request readers, and `Api`, the
// state every handler gets — the services of the process and the few steps every route takes
// (resolve the DocType segment, authenticate, tell the streams after a commit).
//
// Where a route lives: route_table.cpp lists them all (method, pattern, summary, auth, handler);
// the handlers are grouped by concern in *_routes.cpp; middleware.cpp runs around every request.
#pragma once

#include "m/server/app.hpp"
#include "m/server/auth.hpp"
#include "m/server/desk_files.hpp"
#include "m/server/http_server.hpp"
#include "m/server/metrics.hpp"
#include "m/server/options.hpp"

#include "m/core/controller.hpp"
#include "m/core/core_app.hpp"
#include "m/core/database.hpp"
#include "m/core/document_service.hpp"
#include "m/core/error.hpp"
#include "m/core/events.hpp"
#include "m/core/outbox.hpp"
#include "m/core/permissions.hpp"

#include <httplib.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace m::server {

// The core names every handler uses (internal header: server/src only).
using core::Error;
using core::ErrorKind;
using core::Json;
using core::Principal;

using Clock = std::chrono::steady_clock;

/// Per request, on the worker thread that runs it (set by middleware.cpp, read by the log line).
struct RequestContext {
    Clock::time_point start;
    std::string id;
    std::string route; ///< pattern, for metrics
    std::string user;
};
extern thread_local RequestContext t_request;

// ---- replies (reply.cpp) -----------------------------------------------------------------------

/// HTTP status and error name of a kind: the one mapping of the server.
std::pair<int, const char*> error_status(core::ErrorKind kind);
/// `{"error", "message", "details"}` (docs/reference/http-api.md, "Errors").
core::Json error_body(const char* name, const std::string& message, const core::Json& details);
void send_json(httplib::Response& res, int status, const core::Json& body);
/// The answer of an error: its status and JSON shape; the message of an unexpected (5xx) error
/// goes to the log only, with the request id.
void send_error(httplib::Response& res, const core::Error& e);
/// One line on stderr (the access and error log), whole even when threads log at once.
void log_line(const std::string& line);
/// Now, as 2026-12-07T11:42:25.123Z.
std::string utc_now_text();

// ---- request readers (request.cpp) -------------------------------------------------------------

/// A string member of a request body, or Error{validation} naming it when it is not a string.
std::string string_member(const core::Json& body, const char* key, bool required = false);
/// A request body as a JSON object, or Error{validation}.
core::Json body_object(const httplib::Request& req, bool allow_empty = false);
/// An integer query parameter within [lo, hi], or `fallback` when absent; Error{validation}.
long long query_integer(const httplib::Request& req, const char* key, long long fallback,
                        long long lo, long long hi);
/// The token of `Authorization: Bearer …`; empty without the header; Error{unauthenticated} for
/// another scheme.
std::string header_token(const httplib::Request& req);
/// A cookie's value, or empty.
std::string cookie_value(const httplib::Request& req, std::string_view name);

/// Whether the peer is one of server.trusted_proxies.
bool trusted_proxy(const ServeOptions& options, const httplib::Request& req);
/// The client's address: the peer, or — when the peer is a trusted proxy — the last address of
/// X-Forwarded-For that is not one of the trusted proxies.
std::string client_address(const ServeOptions& options, const httplib::Request& req);
/// Served over TLS: the setting, or `X-Forwarded-Proto: https` from a trusted proxy.
bool secure(const ServeOptions& options, const httplib::Request& req);

// ---- the handlers' state -----------------------------------------------------------------------

class StreamSlots;

struct Api {
    const core::MetaRegistry& meta;
    core::Database& db;
    const core::ControllerRegistry& controllers;
    core::EventBus& events;
    ServeOptions options;
    core::DocumentService docs;
    AuthService auth;
    HttpServer http;
    Metrics metrics;
    ServeServices services;
    std::unordered_map<std::string, const core::DocType*> by_alias; ///< name and table name
    std::string openapi_text;
    std::string guest_openapi_text; ///< /schema for callers without a token
    std::shared_ptr<StreamSlots> stream_slots;
    std::shared_ptr<DeskFiles> desk; ///< null when the Desk is not built
    core::EventFeed feed; ///< the outbox (every process's changes) → `events` → streams

    Api(const core::MetaRegistry& m, core::Database& d, const core::ControllerRegistry& c,
        core::EventBus& e, ServeOptions o, ServeServices sv);

    /// The API DocType a path segment names (its name or table name), or Error{not_found}.
    const core::DocType& doctype(const std::string& segment) const;
    /// The caller: bearer token, X-API-Key, the session cookie, or (`query_token`, the stream)
    /// `?token=`; a guest without any. Throws Error{unauthenticated} for a bad credential.
    core::Principal authenticate(const httplib::Request& req, bool query_token = false,
                                 TokenInfo* info = nullptr);
    /// After a User changed here: its sessions are checked again before the next request, not
    /// only once the outbox event arrives (a revocation takes effect at once).
    void account_changed(const core::DocType& dt, const core::Json& doc);
    /// After a commit: the document service wrote the event to the outbox in the transaction;
    /// the feed sends it to the streams now instead of at its next poll.
    void committed() { feed.wake(); }
};

} // namespace m::server
