// The routes of `m serve` and what each does. Errors become HTTP answers in one place
// (error_status/send_error); everything else throws core::Error.
#include "m/server/app.hpp"

#include "m/core/core_app.hpp"
#include "m/core/document_service.hpp"
#include "m/core/error.hpp"
#include "m/core/jobs.hpp"
#include "m/core/json_input.hpp"
#include "m/core/outbox.hpp"
#include "m/core/permissions.hpp"
#include "m/core/query.hpp"
#include "m/server/desk_files.hpp"
#include "m/server/openapi.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_map>

namespace m::server {

using core::Error;
using core::ErrorKind;
using core::Json;
using core::Principal;

namespace fs = std::filesystem;

const std::vector<RouteInfo>& route_table() {
    static const std::vector<RouteInfo> routes{
        {"GET", "/health", "liveness and database check"},
        {"GET", "/metrics", "Prometheus metrics"},
        {"GET", "/schema", "OpenAPI 3.1 document generated from the metadata"},
        {"GET", "/", "redirects to /desk/"},
        {"GET", "/desk/{path}", "the Desk (when built)"},
        {"POST", "/api/v1/auth/login", "email/username + password -> tokens"},
        {"POST", "/api/v1/auth/refresh", "refresh token -> new access token"},
        {"POST", "/api/v1/auth/logout", "ends the session of the token"},
        {"GET", "/api/v1/auth/me", "the current user"},
        {"GET", "/api/v1/stream", "live document events (Server-Sent Events)"},
        {"GET", "/api/meta/doctypes", "DocTypes the user may read"},
        {"GET", "/api/meta/{doctype}", "one DocType: fields, layout, permissions"},
        {"POST", "/api/v1/rpc/{doctype}/{method}", "a callable controller method"},
        {"POST", "/api/v1/jobs/{name}", "enqueue a background job (Admin, System)"},
        {"GET", "/api/v1/jobs/{id}", "a job's status, attempts, result and error (Admin, System)"},
        {"GET", "/api/v1/{doctype}", "list with filters, fields, order_by, paging, count"},
        {"POST", "/api/v1/{doctype}", "create"},
        {"GET", "/api/v1/{doctype}/{id}", "read by id or name"},
        {"PUT", "/api/v1/{doctype}/{id}", "partial update (optimistic concurrency)"},
        {"DELETE", "/api/v1/{doctype}/{id}", "delete"},
        {"POST", "/api/v1/{doctype}/{id}/submit", "submit (docstatus 0 -> 1)"},
        {"POST", "/api/v1/{doctype}/{id}/cancel", "cancel (docstatus 1 -> 2)"},
        {"GET", "/api/v1/{doctype}/{id}/versions", "version history (track_changes DocTypes)"},
    };
    return routes;
}

namespace {

using Clock = std::chrono::steady_clock;

/// Per request, on the worker thread that runs it.
struct RequestContext {
    Clock::time_point start;
    std::string id;
    std::string route; ///< pattern, for metrics
    std::string user;
};
thread_local RequestContext t_request;

std::atomic<unsigned long long> g_request_counter{0};

/// HTTP status and error name of a kind: the one mapping of the server.
std::pair<int, const char*> error_status(ErrorKind kind) {
    switch (kind) {
    case ErrorKind::validation:
        return {400, "ValidationError"};
    case ErrorKind::unauthenticated:
        return {401, "PermissionDenied"};
    case ErrorKind::permission:
        return {403, "PermissionDenied"};
    case ErrorKind::not_found:
        return {404, "NotFound"};
    case ErrorKind::conflict:
        return {409, "Conflict"};
    case ErrorKind::too_large:
        return {413, "ValidationError"};
    case ErrorKind::rate_limited:
        return {429, "TooManyRequests"};
    case ErrorKind::unavailable:
        return {503, "ServiceUnavailable"};
    case ErrorKind::timeout:
        return {504, "ServiceUnavailable"};
    case ErrorKind::cancelled:
    case ErrorKind::internal:
        break;
    }
    return {500, "InternalError"};
}

void send_json(httplib::Response& res, int status, const Json& body) {
    res.status = status;
    // Text from a request (a path segment in an error message) may be invalid UTF-8: replaced,
    // never a throw from dump().
    res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

/// The Content-Security-Policy of the Desk: its build has no inline script (antd injects styles).
constexpr const char* k_desk_csp =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
/// Everything else is data, never a page.
constexpr const char* k_api_csp = "default-src 'none'; frame-ancestors 'none'";

/// A string member of a request body, or Error{validation} naming it when it is not a string.
std::string string_member(const Json& body, const char* key, bool required = false) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) {
        if (required) throw Error(ErrorKind::validation, fmt::format("{} is required", key));
        return {};
    }
    if (!it->is_string())
        throw Error(ErrorKind::validation, fmt::format("{} must be a string", key));
    return it->get<std::string>();
}

Json error_body(const char* name, const std::string& message, const Json& details) {
    Json body = Json::object();
    body["error"] = name;
    body["message"] = message;
    body["details"] = details;
    return body;
}

void log_line(const std::string& line) {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    std::fputs(line.c_str(), stderr);
    std::fputc('\n', stderr);
}

std::string utc_now_text() {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms.count());
}

void send_error(httplib::Response& res, const Error& e) {
    auto [status, name] = error_status(e.kind());
    if (status >= 500 && e.kind() != ErrorKind::unavailable && e.kind() != ErrorKind::timeout) {
        // Never the message of an unexpected error: it may hold SQL. The log has it.
        log_line(fmt::format("ts={} level=error request_id={} error={:?}", utc_now_text(),
                             t_request.id, e.what()));
        send_json(res, status,
                  error_body(name, "internal error; see the server log for request " + t_request.id,
                             Json{{"request_id", t_request.id}}));
        return;
    }
    Json details = e.details().is_null() ? Json(nullptr) : core::to_ordered(e.details());
    if (e.kind() == ErrorKind::rate_limited && e.details().contains("retry_after")) {
        res.set_header("Retry-After", std::to_string(e.details()["retry_after"].get<long long>()));
    }
    if (e.kind() == ErrorKind::unauthenticated) res.set_header("WWW-Authenticate", "Bearer");
    send_json(res, status, error_body(name, e.what(), details));
}

/// A request body as a JSON object, or Error{validation}.
Json body_object(const httplib::Request& req, bool allow_empty = false) {
    if (req.body.empty() && allow_empty) return Json::object();
    Json body = core::parse_json_input(req.body, "body");
    if (!body.is_object()) throw Error(ErrorKind::validation, "the body must be a JSON object");
    return body;
}

long long query_integer(const httplib::Request& req, const char* key, long long fallback,
                        long long lo, long long hi) {
    if (!req.has_param(key)) return fallback;
    const std::string text = req.get_param_value(key);
    long long n = 0;
    try {
        std::size_t used = 0;
        n = std::stoll(text, &used);
        if (used != text.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
        throw Error(ErrorKind::validation,
                    fmt::format("query parameter '{}' must be an integer, got '{}'", key, text));
    }
    if (n < lo || n > hi) {
        throw Error(
            ErrorKind::validation,
            fmt::format("query parameter '{}' must be from {} to {}, got {}", key, lo, hi, n));
    }
    return n;
}

std::string header_token(const httplib::Request& req) {
    const std::string auth = req.get_header_value("Authorization");
    if (auth.empty()) return {};
    if (auth.size() > 7 &&
        (auth.compare(0, 7, "Bearer ") == 0 || auth.compare(0, 7, "bearer ") == 0)) {
        return auth.substr(7);
    }
    throw Error(ErrorKind::unauthenticated,
                "unsupported Authorization scheme (use 'Bearer <token>' or X-API-Key)");
}

std::string cookie_value(const httplib::Request& req, std::string_view name) {
    const std::string cookies = req.get_header_value("Cookie");
    std::size_t pos = 0;
    while (pos < cookies.size()) {
        std::size_t end = cookies.find(';', pos);
        if (end == std::string::npos) end = cookies.size();
        std::string_view part(cookies.data() + pos, end - pos);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        if (part.size() > name.size() && part.substr(0, name.size()) == name &&
            part[name.size()] == '=') {
            return std::string(part.substr(name.size() + 1));
        }
        pos = end + 1;
    }
    return {};
}

Json field_json(const core::Field& f) {
    Json j = Json::object();
    j["name"] = f.name;
    j["type"] = std::string(core::to_string(f.type));
    j["label"] = f.label;
    j["required"] = f.required;
    j["unique"] = f.unique;
    j["read_only"] = f.read_only || f.standard;
    j["hidden"] = f.hidden;
    j["in_list_view"] = f.in_list_view;
    j["allow_on_submit"] = f.allow_on_submit;
    if (!f.default_value.is_null()) j["default"] = core::to_ordered(f.default_value);
    if (!f.options.empty()) j["options"] = f.options;
    if (!f.select_options.empty()) j["options"] = f.select_options;
    if (!f.description.empty()) j["description"] = f.description;
    if (f.min) j["min"] = *f.min;
    if (f.max) j["max"] = *f.max;
    if (f.min_length) j["min_length"] = *f.min_length;
    if (f.max_length) j["max_length"] = *f.max_length;
    if (!f.pattern.empty()) j["pattern"] = f.pattern;
    if (f.precision) j["precision"] = *f.precision;
    return j;
}

Json doctype_summary(const core::DocType& dt, const Principal& who) {
    Json j = Json::object();
    j["name"] = dt.name;
    j["label"] = dt.label.empty() ? dt.name : dt.label;
    j["module"] = dt.module;
    j["app"] = dt.app;
    j["is_submittable"] = dt.is_submittable;
    j["is_child_table"] = dt.is_child_table;
    j["is_single"] = dt.is_single;
    j["show_in_desk"] = dt.show_in_desk;
    j["api_resource"] = dt.api_resource;
    j["track_changes"] = dt.track_changes;
    j["ui_meta"] = core::to_ordered(dt.ui_meta);
    j["permissions"] = core::permissions_of(dt, who);
    return j;
}

} // namespace

/// What a live stream carries along: whose it is and which DocTypes it wants.
struct StreamState {
    Principal who;
    std::set<std::string> doctypes; ///< empty = every DocType the user may read
    std::string session_id;         ///< the token's session; empty for an API key
    std::int64_t expires = 0;       ///< the token's expiry (unix seconds); 0 = none
    std::function<void()> release;  ///< gives back the user's stream slot
    ~StreamState() {
        if (release) release();
    }
};

/// Open live streams per user (server.max_streams_per_user), so one account cannot fill the
/// server's connections.
class StreamSlots {
public:
    explicit StreamSlots(std::size_t max) : m_max(max) {}
    /// Takes a slot or throws Error{rate_limited}.
    void take(const std::string& user) {
        std::lock_guard lock(m_mutex);
        std::size_t& n = m_open[user];
        if (n >= m_max) {
            throw Error(ErrorKind::rate_limited,
                        fmt::format("at most {} open live streams per user", m_max),
                        Json{{"retry_after", 5}});
        }
        ++n;
    }
    void give_back(const std::string& user) {
        std::lock_guard lock(m_mutex);
        auto it = m_open.find(user);
        if (it != m_open.end() && --it->second == 0) m_open.erase(it);
    }

private:
    std::size_t m_max;
    std::mutex m_mutex;
    std::unordered_map<std::string, std::size_t> m_open;
};

struct ServerApp::Impl {
    const core::MetaRegistry& meta;
    core::Database& db;
    const core::ControllerRegistry& controllers;
    core::EventBus& events;
    ServeOptions options;
    core::DocumentService docs;
    AuthService auth;
    HttpServer http;
    Metrics metrics;
    std::unordered_map<std::string, const core::DocType*> by_alias; ///< name and table name
    std::string openapi_text;
    std::uint64_t subscription = 0;
    ServerApp::Services services;
    std::shared_ptr<StreamSlots> stream_slots;
    std::string guest_openapi_text; ///< /schema for callers without a token
    core::EventFeed feed; ///< the outbox (every process's changes) → `events` → streams

    Impl(const core::MetaRegistry& m, core::Database& d, const core::ControllerRegistry& c,
         core::EventBus& e, ServeOptions o, ServerApp::Services sv)
        : meta(m), db(d), controllers(c), events(e), options(std::move(o)), docs(m, d, &c),
          auth(m, d, options.auth, sv.shared_cache), http(options.http), services(sv),
          stream_slots(std::make_shared<StreamSlots>(
              std::max<std::size_t>(1, options.max_streams_per_user))),
          feed(d, e, sv.broker, std::chrono::milliseconds(25),
               [](const std::string& line) { fmt::print(stderr, "m serve: {}\n", line); }) {
        docs.set_jobs(services.jobs, services.queue);
        for (const auto& dt : meta.all()) {
            if (dt->is_child_table || !dt->api_resource) continue;
            by_alias.emplace(dt->name, dt.get());
            by_alias.emplace(dt->table_name(), dt.get());
        }
        std::map<std::string, std::vector<std::string>> methods;
        for (const auto& dt : meta.all()) {
            for (const auto& name : controllers.method_names(dt->name)) {
                methods[dt->name].push_back(name);
            }
        }
        openapi_text = openapi_document(meta, methods, M_VERSION).dump();
        guest_openapi_text =
            openapi_document(meta, methods, M_VERSION, [](const core::DocType& dt) {
                const Principal guest;
                for (const char* action : {"read", "create", "write"}) {
                    if (core::allowed(dt, guest, action)) return true;
                }
                return false;
            }).dump();
        install();
        http.set_stream_expiry([](void* raw) {
            const auto* state = static_cast<const StreamState*>(raw);
            return state->expires != 0 && state->expires <= std::time(nullptr);
        });
        subscription = events.subscribe([this](const core::DocEvent& e) { push(e); });
        feed.start();
    }

    ~Impl() {
        feed.stop();
        events.unsubscribe(subscription);
    }

    // ---- plumbing ------------------------------------------------------------------------

    using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

    /// Wraps a handler: the route pattern for metrics, and every error answered as SPEC §6 JSON.
    httplib::Server::Handler route(std::string pattern, Handler fn) {
        return [pattern = std::move(pattern), fn = std::move(fn)](const httplib::Request& req,
                                                                  httplib::Response& res) {
            t_request.route = pattern;
            try {
                fn(req, res);
            } catch (const Error& e) {
                send_error(res, e);
            } catch (const std::exception& e) {
                send_error(res, Error(ErrorKind::internal, e.what()));
            }
        };
    }

    const core::DocType& doctype(const std::string& segment) const {
        auto it = by_alias.find(segment);
        if (it == by_alias.end()) {
            throw Error(ErrorKind::not_found, fmt::format("unknown DocType '{}'", segment));
        }
        return *it->second;
    }

    Principal authenticate(const httplib::Request& req, bool query_token = false,
                           TokenInfo* info = nullptr) {
        std::string token = header_token(req);
        Principal who;
        if (!token.empty()) {
            who = auth.from_access_token(token, info);
        } else if (req.has_header("X-API-Key")) {
            who = auth.from_api_key(req.get_header_value("X-API-Key"));
        } else if (std::string cookie = cookie_value(req, "m_token"); !cookie.empty()) {
            who = auth.from_access_token(cookie, info);
        } else if (query_token && req.has_param("token")) {
            who = auth.from_access_token(req.get_param_value("token"), info);
        }
        t_request.user = who.user;
        return who;
    }

    /// After a User changed here: its sessions are checked again before the next request, not
    /// only once the outbox event arrives (a revocation takes effect at once).
    void account_changed(const core::DocType& dt, const Json& doc) {
        if (dt.name == core::k_user_doctype) auth.user_changed(doc.value("name", ""));
    }

    /// After a commit: the document service wrote the event to the outbox in the transaction;
    /// the feed sends it to the streams now instead of at its next poll.
    void committed() { feed.wake(); }

    /// Sends an event to every stream that may see it (runs under the bus's lock).
    void push(const core::DocEvent& e) {
        if (e.doctype == core::k_session_doctype && e.topic != "doc.created") {
            // Revoked (logout, or the user's credentials changed, in any process): its tokens
            // are refused from now on and its open streams end.
            auth.session_revoked(e.doc_id);
            http.close_streams([&](void* raw) {
                return static_cast<const StreamState*>(raw)->session_id == e.doc_id;
            });
        } else if (e.doctype == core::k_user_doctype && e.topic != "doc.created") {
            auth.user_changed(e.name);
            http.close_streams([&](void* raw) { // API-key streams have no session to revoke
                const auto* state = static_cast<const StreamState*>(raw);
                return state->session_id.empty() && state->who.user == e.name;
            });
        }
        const core::DocType* dt = meta.find(e.doctype);
        // Internal DocTypes (Auth Session: every login and refresh) have no API, so no events.
        if (!dt || !dt->api_resource) return;
        std::string frame =
            fmt::format("id: {}\nevent: {}\ndata: {}\n\n", e.id, e.topic, e.payload().dump());
        http.publish([&](void* raw) -> std::string {
            const auto* state = static_cast<const StreamState*>(raw);
            if (!state->doctypes.empty() && !state->doctypes.count(e.doctype)) return {};
            if (!core::allowed(*dt, state->who, "read")) return {};
            if (!core::rls_visible(*dt, state->who, e.rls_value)) return {};
            return frame;
        });
    }

    // ---- routes --------------------------------------------------------------------------

    void install() {
        auto& svr = http.routes();

        svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
            t_request.start = Clock::now();
            t_request.route.clear();
            t_request.user.clear();
            std::string given = req.get_header_value("X-Request-Id");
            bool usable = !given.empty() && given.size() <= 64 &&
                          given.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                                                  "TUVWXYZ0123456789-_.") == std::string::npos;
            t_request.id = usable ? given : fmt::format("{:x}", ++g_request_counter);
            res.set_header("X-Request-Id", t_request.id);
            security_headers(req, res);
            if (!core::valid_utf8(req.path) || !params_valid_utf8(req)) {
                send_json(res, 400,
                          error_body("ValidationError", "the request path or query is not UTF-8",
                                     nullptr));
                return httplib::Server::HandlerResponse::Handled;
            }
            prefer_gzip(req);
            no_length_means_no_body(req);
            return cors(req, res) ? httplib::Server::HandlerResponse::Handled
                                  : httplib::Server::HandlerResponse::Unhandled;
        });

        svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
            if (!res.body.empty()) return;
            if (res.status == 413) {
                send_json(res, 413,
                          error_body("ValidationError", "request body too large", nullptr));
            } else if (res.status == 404) {
                send_json(res, 404, error_body("NotFound", "no such route", nullptr));
            } else if (res.status >= 500) {
                send_json(res, res.status, error_body("InternalError", "server error", nullptr));
            } else {
                send_json(res, res.status, error_body("ValidationError", "bad request", nullptr));
            }
        });

        svr.set_exception_handler(
            [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
                try {
                    std::rethrow_exception(ep);
                } catch (const Error& e) {
                    send_error(res, e);
                } catch (const std::exception& e) {
                    send_error(res, Error(ErrorKind::internal, e.what()));
                } catch (...) {
                    send_error(res, Error(ErrorKind::internal, "unknown exception"));
                }
            });

        svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
            double seconds = std::chrono::duration<double>(Clock::now() - t_request.start).count();
            const std::string& route =
                t_request.route.empty() ? std::string("(unmatched)") : t_request.route;
            metrics.record(req.method, route, res.status, seconds);
            if (options.access_log) {
                // The path only: query strings may carry ?token= (the stream) and are not logged.
                log_line(fmt::format(
                    "ts={} level=info msg=request request_id={} method={} path={:?} status={} "
                    "duration_ms={:.3f} user={:?} client={}",
                    utc_now_text(), t_request.id, req.method, req.path, res.status, seconds * 1000,
                    t_request.user, req.remote_addr));
            }
        });

        svr.Get("/health", route("/health", [this](const auto&, auto& res) { health(res); }));
        svr.Get("/metrics", route("/metrics", [this](const auto& req, auto& res) {
                    require_metrics_token(req);
                    MetricsGauges g;
                    auto s = http.stats();
                    g.connections = s.connections;
                    g.streams = s.streams;
                    auto pool = db.pool_stats();
                    g.db_pool_size = pool.size;
                    g.db_pool_in_use = pool.in_use;
                    res.set_content(metrics.text(g), "text/plain; version=0.0.4");
                }));
        svr.Get("/schema", route("/schema", [this](const auto& req, auto& res) {
                    // A guest sees only the DocTypes a guest may use; a bad token is a 401.
                    Principal who = authenticate(req);
                    res.set_content(who.is_guest() ? guest_openapi_text : openapi_text,
                                    "application/json");
                }));
        install_desk(svr);

        svr.Post("/api/v1/auth/login",
                 route("/api/v1/auth/login", [this](const auto& req, auto& res) {
                     Json body = body_object(req);
                     std::string login = string_member(body, "email");
                     if (login.empty()) login = string_member(body, "username");
                     const std::string password = string_member(body, "password");
                     TokenPair tokens = auth.login(login, password, client_address(req));
                     t_request.user = login;
                     send_tokens(req, res, body, tokens);
                 }));
        svr.Post("/api/v1/auth/refresh",
                 route("/api/v1/auth/refresh", [this](const auto& req, auto& res) {
                     Json body = body_object(req, true);
                     std::string token = string_member(body, "refresh_token");
                     if (token.empty()) token = cookie_value(req, "m_refresh");
                     if (token.empty()) {
                         throw Error(ErrorKind::validation, "refresh_token is required");
                     }
                     TokenPair tokens = auth.refresh(token);
                     tokens.refresh_token = token; // the same session: the cookie is renewed
                     send_tokens(req, res, body, tokens);
                 }));
        svr.Post(
            "/api/v1/auth/logout", route("/api/v1/auth/logout", [this](const auto& req, auto& res) {
                Json body = body_object(req, true);
                std::string token = header_token(req);
                if (token.empty()) token = cookie_value(req, "m_token");
                if (std::string refresh = string_member(body, "refresh_token"); !refresh.empty()) {
                    token = refresh;
                }
                if (token.empty()) {
                    throw Error(ErrorKind::unauthenticated, "no session to end");
                }
                auth.logout(token);
                res.set_header("Set-Cookie", session_cookie(req, "", 0));
                res.headers.emplace("Set-Cookie", refresh_cookie(req, "", 0));
                res.status = 204;
            }));
        svr.Get("/api/v1/auth/me",
                route("/api/v1/auth/me", [this](const auto& req, auto& res) { me(req, res); }));
        svr.Get("/api/v1/stream",
                route("/api/v1/stream", [this](const auto& req, auto& res) { stream(req, res); }));
        svr.Get("/api/meta/doctypes",
                route("/api/meta/doctypes",
                      [this](const auto& req, auto& res) { meta_list(req, res); }));
        svr.Get(R"(/api/meta/([^/]+))",
                route("/api/meta/{doctype}",
                      [this](const auto& req, auto& res) { meta_one(req, res); }));
        svr.Post(R"(/api/v1/rpc/([^/]+)/([^/]+))",
                 route("/api/v1/rpc/{doctype}/{method}",
                       [this](const auto& req, auto& res) { rpc(req, res); }));
        svr.Post(R"(/api/v1/jobs/([^/]+))",
                 route("/api/v1/jobs/{name}",
                       [this](const auto& req, auto& res) { job_enqueue(req, res); }));
        svr.Get(R"(/api/v1/jobs/([^/]+))",
                route("/api/v1/jobs/{id}",
                      [this](const auto& req, auto& res) { job_status(req, res); }));
        svr.Get(R"(/api/v1/([^/]+))",
                route("/api/v1/{doctype}", [this](const auto& req, auto& res) { list(req, res); }));
        svr.Post(
            R"(/api/v1/([^/]+))",
            route("/api/v1/{doctype}", [this](const auto& req, auto& res) { create(req, res); }));
        svr.Get(
            R"(/api/v1/([^/]+)/([^/]+))",
            route("/api/v1/{doctype}/{id}", [this](const auto& req, auto& res) { get(req, res); }));
        svr.Put(R"(/api/v1/([^/]+)/([^/]+))",
                route("/api/v1/{doctype}/{id}",
                      [this](const auto& req, auto& res) { update(req, res); }));
        svr.Delete(R"(/api/v1/([^/]+)/([^/]+))",
                   route("/api/v1/{doctype}/{id}",
                         [this](const auto& req, auto& res) { remove(req, res); }));
        svr.Get(R"(/api/v1/([^/]+)/([^/]+)/versions)",
                route("/api/v1/{doctype}/{id}/versions",
                      [this](const auto& req, auto& res) { versions(req, res); }));
        svr.Post(R"(/api/v1/([^/]+)/([^/]+)/(submit|cancel))",
                 route("/api/v1/{doctype}/{id}/{action}",
                       [this](const auto& req, auto& res) { transition(req, res); }));
    }

    /// The access token's cookie (every path) and the refresh token's (only the refresh path:
    /// no other request carries it, and SameSite=Strict keeps it from cross-site posts).
    std::string session_cookie(const httplib::Request& req, const std::string& token,
                               std::int64_t max_age) const {
        return fmt::format("m_token={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}", token,
                           max_age, secure(req) ? "; Secure" : "");
    }
    std::string refresh_cookie(const httplib::Request& req, const std::string& token,
                               std::int64_t max_age) const {
        return fmt::format("m_refresh={}; Path=/api/v1/auth/refresh; Max-Age={}; HttpOnly; "
                           "SameSite=Strict{}",
                           token, max_age, secure(req) ? "; Secure" : "");
    }

    bool trusted_proxy(const httplib::Request& req) const {
        return std::find(options.trusted_proxies.begin(), options.trusted_proxies.end(),
                         req.remote_addr) != options.trusted_proxies.end();
    }

    /// The client's address: the peer, or — when the peer is a trusted proxy — the last address
    /// of X-Forwarded-For that is not one of the trusted proxies.
    std::string client_address(const httplib::Request& req) const {
        if (!trusted_proxy(req) || !req.has_header("X-Forwarded-For")) return req.remote_addr;
        std::string list = req.get_header_value("X-Forwarded-For");
        std::size_t end = list.size();
        while (end > 0) {
            std::size_t comma = list.rfind(',', end - 1);
            std::size_t begin = comma == std::string::npos ? 0 : comma + 1;
            std::string hop = list.substr(begin, end - begin);
            hop.erase(0, hop.find_first_not_of(" \t"));
            hop.erase(hop.find_last_not_of(" \t") + 1);
            if (!hop.empty() &&
                std::find(options.trusted_proxies.begin(), options.trusted_proxies.end(), hop) ==
                    options.trusted_proxies.end()) {
                return hop.substr(0, 64);
            }
            if (comma == std::string::npos) break;
            end = comma;
        }
        return req.remote_addr;
    }

    /// Served over TLS: the setting, or `X-Forwarded-Proto: https` from a trusted proxy.
    bool secure(const httplib::Request& req) const {
        return options.secure_cookies ||
               (trusted_proxy(req) && req.get_header_value("X-Forwarded-Proto") == "https");
    }

    /// On every response (docs/ARCHITECTURE.md, threat model): the Desk's CSP on its pages, a
    /// deny-all one elsewhere; no sniffing, no framing, no referrer leaving the site.
    void security_headers(const httplib::Request& req, httplib::Response& res) const {
        const bool desk = req.path == "/desk" || req.path.rfind("/desk/", 0) == 0;
        res.set_header("Content-Security-Policy", desk ? k_desk_csp : k_api_csp);
        res.set_header("X-Content-Type-Options", "nosniff");
        res.set_header("X-Frame-Options", "DENY");
        res.set_header("Referrer-Policy", "no-referrer");
        if (secure(req)) res.set_header("Strict-Transport-Security", "max-age=31536000");
    }

    static bool params_valid_utf8(const httplib::Request& req) {
        for (const auto& [key, value] : req.params) {
            if (!core::valid_utf8(key) || !core::valid_utf8(value)) return false;
        }
        return true;
    }

    /// CORS (closed unless server.cors_origins lists the origin). Returns true when the request
    /// was a preflight and has been answered.
    bool cors(const httplib::Request& req, httplib::Response& res) const {
        const std::string origin = req.get_header_value("Origin");
        bool allowed =
            !origin.empty() && std::find(options.cors_origins.begin(), options.cors_origins.end(),
                                         origin) != options.cors_origins.end();
        if (allowed) {
            res.set_header("Access-Control-Allow-Origin", origin);
            res.set_header("Vary", "Origin");
            res.set_header("Access-Control-Allow-Credentials", "true");
        }
        if (req.method != "OPTIONS") return false;
        if (allowed) {
            res.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
            res.set_header("Access-Control-Allow-Headers",
                           "Authorization, Content-Type, X-API-Key, If-Match, Last-Event-ID");
            res.set_header("Access-Control-Max-Age", "600");
            res.status = 204;
        } else {
            send_json(res, 403, error_body("PermissionDenied", "origin not allowed", nullptr));
        }
        return true;
    }

    /// httplib compresses with brotli whenever a client accepts it, at brotli's slowest quality
    /// (11, about 1 MB/s here): the Desk's 450 KB script took 2 s to send to a browser and every
    /// JSON reply paid for it too. gzip (zlib level 6) costs a fiftieth of that for ~15 % more
    /// bytes, so other encodings are dropped from Accept-Encoding before httplib reads it. The
    /// request object belongs to httplib's request loop and is not const there.
    static void prefer_gzip(const httplib::Request& req) {
        auto& headers = const_cast<httplib::Request&>(req).headers;
        auto it = headers.find("Accept-Encoding");
        if (it == headers.end()) return;
        if (it->second.find("gzip") != std::string::npos) {
            it->second = "gzip";
        } else {
            headers.erase(it);
        }
    }

    /// A POST or PUT without Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3),
    /// as with `curl -X POST …/submit`; httplib 0.11 would instead read until the client closes,
    /// and answer 400 after its 5 s read timeout.
    static void no_length_means_no_body(const httplib::Request& req) {
        if (req.method != "POST" && req.method != "PUT" && req.method != "PATCH") return;
        if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) return;
        const_cast<httplib::Request&>(req).headers.emplace("Content-Length", "0");
    }

    /// The answer of login and refresh: both cookies, and the tokens in JSON — without the
    /// refresh token when the caller asked for `"session": "cookie"` (the Desk: no token where
    /// its JavaScript could read it).
    void send_tokens(const httplib::Request& req, httplib::Response& res, const Json& body,
                     TokenPair tokens) const {
        res.set_header("Set-Cookie", session_cookie(req, tokens.access_token, tokens.expires_in));
        if (!tokens.refresh_token.empty()) {
            res.headers.emplace("Set-Cookie", refresh_cookie(req, tokens.refresh_token,
                                                             options.auth.refresh_ttl_s));
        }
        // A refresh never hands back the token it was given (as before the cookie existed).
        if (string_member(body, "session") == "cookie" || req.path == "/api/v1/auth/refresh") {
            tokens.refresh_token.clear();
        }
        send_json(res, 200, tokens.to_json());
    }

    void install_desk(httplib::Server& svr) {
        std::error_code ec;
        bool built =
            !options.desk_dir.empty() && fs::is_regular_file(options.desk_dir / "index.html", ec);
        svr.Get("/", route("/", [](const auto&, auto& res) { res.set_redirect("/desk/"); }));
        svr.Get("/desk",
                route("/desk", [](const auto&, auto& res) { res.set_redirect("/desk/"); }));
        if (built) {
            // A file of the Desk folder (never one outside it, through `..` or a symlink), else
            // a client-side route of the single-page app: index.html.
            // Vite names files in assets/ by their content hash: they never change, so browsers
            // may keep them (a rebuilt Desk has new names in its index.html, which is no-cache).
            auto files = std::make_shared<DeskFiles>(options.desk_dir);
            svr.Get(R"(/desk/(.*))", route("/desk/{path}", [files](const auto& req, auto& res) {
                        auto file = files->file(req.matches[1].str());
                        DeskFile page = file ? std::move(*file) : files->index();
                        res.set_header("Cache-Control", page.immutable
                                                            ? "public, max-age=31536000, immutable"
                                                            : "no-cache");
                        res.set_content(std::move(page.content), page.content_type);
                    }));
        } else {
            svr.Get(R"(/desk/.*)", route("/desk/{path}", [](const auto&, auto& res) {
                        res.status = 503;
                        res.set_content("<!doctype html><title>m</title><p>The Desk is not built "
                                        "yet. The API is at <a href=\"/schema\">/schema</a>.",
                                        "text/html; charset=utf-8");
                    }));
        }
    }

    // ---- handlers ------------------------------------------------------------------------

    /// Up or down, never why: the database's error text goes to the log only.
    void health(httplib::Response& res) {
        Json body = Json::object();
        try {
            auto session = db.session();
            session->query("SELECT 1");
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
    void require_metrics_token(const httplib::Request& req) const {
        if (options.metrics_token.empty()) return;
        const std::string auth_header = req.get_header_value("Authorization");
        const std::string expected = "Bearer " + options.metrics_token;
        if (auth_header.size() != expected.size() ||
            CRYPTO_memcmp(auth_header.data(), expected.data(), expected.size()) != 0) {
            throw Error(ErrorKind::unauthenticated, "/metrics needs its token");
        }
    }

    void me(const httplib::Request& req, httplib::Response& res) {
        Principal who = authenticate(req);
        Json body = Json::object();
        body["authenticated"] = !who.is_guest();
        if (who.is_guest()) {
            send_json(res, 200, body);
            return;
        }
        body["id"] = who.user;
        body["email"] = who.user;
        std::string full_name;
        try {
            auto session = db.session();
            Json user =
                docs.get(*session, std::string(core::k_user_doctype), who.user, who.elevated());
            if (user.contains("full_name") && user["full_name"].is_string()) {
                full_name = user["full_name"].get<std::string>();
            }
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::not_found) throw;
        }
        body["name"] = full_name.empty() ? who.user : full_name;
        body["roles"] = who.roles;
        send_json(res, 200, body);
    }

    void meta_list(const httplib::Request& req, httplib::Response& res) {
        Principal who = authenticate(req);
        Json items = Json::array();
        auto flag = [&](const char* key, bool value) {
            if (!req.has_param(key)) return true;
            std::string v = req.get_param_value(key);
            if (v != "0" && v != "1" && v != "true" && v != "false") {
                throw Error(ErrorKind::validation,
                            fmt::format("query parameter '{}' must be 0/1/true/false", key));
            }
            return (v == "1" || v == "true") == value;
        };
        for (const auto& dt : meta.all()) {
            if (!core::allowed(*dt, who, "read")) continue;
            if (!flag("show_in_desk", dt->show_in_desk) ||
                !flag("is_submittable", dt->is_submittable) ||
                !flag("is_child_table", dt->is_child_table) ||
                !flag("api_resource", dt->api_resource)) {
                continue;
            }
            items.push_back(doctype_summary(*dt, who));
        }
        if (who.is_guest() && items.empty()) {
            throw Error(ErrorKind::unauthenticated, "authentication required");
        }
        send_json(res, 200, Json{{"items", items}});
    }

    void meta_one(const httplib::Request& req, httplib::Response& res) {
        Principal who = authenticate(req);
        const core::DocType* dt = meta.find(req.matches[1].str());
        if (!dt) {
            auto it = by_alias.find(req.matches[1].str());
            dt = it == by_alias.end() ? nullptr : it->second;
        }
        if (!dt) {
            throw Error(ErrorKind::not_found,
                        fmt::format("unknown DocType '{}'", req.matches[1].str()));
        }
        core::require(*dt, who, "read");
        Json j = doctype_summary(*dt, who);
        j["naming_rule"] = dt->naming_rule;
        j["title_field"] = dt->title_field;
        j["sort_field"] = dt->sort_field;
        j["sort_order"] = dt->sort_order;
        j["apply_rls"] = dt->apply_rls;
        Json fields = Json::array();
        for (const auto& f : dt->fields) fields.push_back(field_json(f));
        j["fields"] = fields;
        Json standard = Json::array();
        for (const auto& f : dt->columns()) {
            if (f.standard) standard.push_back(field_json(f));
        }
        j["standard_fields"] = standard;
        // Child DocTypes of table fields, so a form can render its grids from one request.
        Json children = Json::object();
        for (const auto& f : dt->fields) {
            if (f.type != core::FieldType::table) continue;
            const core::DocType& child = meta.get(f.options);
            Json cf = Json::array();
            for (const auto& c : child.fields) cf.push_back(field_json(c));
            children[child.name] = Json{{"fields", cf}};
        }
        j["child_doctypes"] = children;
        j["methods"] = controllers.method_names(dt->name);
        send_json(res, 200, j);
    }

    void list(const httplib::Request& req, httplib::Response& res) {
        const core::DocType& dt = doctype(req.matches[1].str());
        Principal who = authenticate(req);
        docs.authorize(dt.name, who, "read");
        core::ListQuery q;
        q.limit = query_integer(req, "limit", 20, 1, 1000);
        q.offset = query_integer(req, "offset", 0, 0, 1LL << 40);
        if (req.has_param("fields"))
            q.fields = core::parse_fields(dt, req.get_param_value("fields"));
        if (req.has_param("order_by")) {
            q.order_by = core::parse_order_by(dt, req.get_param_value("order_by"));
        }
        if (req.has_param("filters")) {
            q.filters = core::parse_filters_text(dt, req.get_param_value("filters"));
        }
        core::CountMode count = core::CountMode::exact;
        if (req.has_param("count")) {
            std::string c = req.get_param_value("count");
            if (c == "exact") {
                count = core::CountMode::exact;
            } else if (c == "estimated") {
                count = core::CountMode::estimated;
            } else if (c == "none") {
                count = core::CountMode::none;
            } else {
                throw Error(ErrorKind::validation,
                            fmt::format("count must be exact, estimated or none, got '{}'", c));
            }
        }
        auto session = db.session();
        send_json(res, 200, docs.list(*session, dt.name, std::move(q), who, count).to_json());
    }

    void get(const httplib::Request& req, httplib::Response& res) {
        const core::DocType& dt = doctype(req.matches[1].str());
        Principal who = authenticate(req);
        auto session = db.session();
        send_json(res, 200, docs.get(*session, dt.name, req.matches[2].str(), who));
    }

    /// The version history of a document (oldest first), under the document's own read rules.
    void versions(const httplib::Request& req, httplib::Response& res) {
        const core::DocType& dt = doctype(req.matches[1].str());
        Principal who = authenticate(req);
        auto session = db.session();
        Json items = Json::array();
        for (auto& v : docs.versions(*session, dt.name, req.matches[2].str(), who)) {
            items.push_back(std::move(v));
        }
        send_json(res, 200, Json{{"items", items}});
    }

    void create(const httplib::Request& req, httplib::Response& res) {
        const core::DocType& dt = doctype(req.matches[1].str());
        Principal who = authenticate(req);
        docs.authorize(dt.name, who, "create");
        Json body = body_object(req);
        auto session = db.session();
        core::UnitOfWork uow(*session);
        Json doc = docs.insert(*session, dt.name, body, who);
        uow.commit();
        committed();
        send_json(res, 201, doc);
    }

    void update(const httplib::Request& req, httplib::Response& res) {
        const core::DocType& dt = doctype(req.matches[1].str());
        Principal who = authenticate(req);
        docs.authorize(dt.name, who, "write");
        Json patch = body_object(req);
        std::string if_match = req.get_header_value("If-Match");
        if (!if_match.empty()) {
            if (if_match.rfind("W/", 0) == 0) if_match = if_match.substr(2);
            if (if_match.size() >= 2 && if_match.front() == '"' && if_match.back() == '"') {
                if_match = if_match.substr(1, if_match.size() - 2);
            }
            patch["modified"] = if_match;
        }
        const std::string key = req.matches[2].str();
        auto session = db.session();
        core::UnitOfWork uow(*session);
        Json doc = docs.update(*session, dt.name, key, patch, who);
        uow.commit();
        account_changed(dt, doc);
        committed();
        send_json(res, 200, doc);
    }

    void remove(const httplib::Request& req, httplib::Response& res) {
        const core::DocType& dt = doctype(req.matches[1].str());
        Principal who = authenticate(req);
        const std::string key = req.matches[2].str();
        auto session = db.session();
        core::UnitOfWork uow(*session);
        Json doc = docs.remove(*session, dt.name, key, who);
        uow.commit();
        account_changed(dt, doc);
        committed();
        res.status = 204;
    }

    void transition(const httplib::Request& req, httplib::Response& res) {
        const core::DocType& dt = doctype(req.matches[1].str());
        const bool submit = req.matches[3].str() == "submit";
        Principal who = authenticate(req);
        const std::string key = req.matches[2].str();
        auto session = db.session();
        core::UnitOfWork uow(*session);
        Json doc = submit ? docs.submit(*session, dt.name, key, who)
                          : docs.cancel(*session, dt.name, key, who);
        uow.commit();
        committed();
        send_json(res, 200, doc);
    }

    void rpc(const httplib::Request& req, httplib::Response& res) {
        const core::DocType& dt = doctype(req.matches[1].str());
        const std::string method = req.matches[2].str();
        Principal who = authenticate(req);
        docs.authorize(dt.name, who, docs.method_permission(dt.name, method));
        Json kwargs = body_object(req, true);
        std::string doc_id;
        if (kwargs.contains("doc_id")) {
            if (!kwargs["doc_id"].is_string()) {
                throw Error(ErrorKind::validation, "doc_id must be a string");
            }
            doc_id = kwargs["doc_id"].get<std::string>();
            kwargs.erase("doc_id");
        }
        auto session = db.session();
        core::UnitOfWork uow(*session);
        Json result = docs.call(*session, dt.name, doc_id, method, kwargs, who);
        uow.commit();
        committed();
        send_json(res, 200, Json{{"result", result}});
    }

    // ---- jobs (SPEC §7; Admin and System only) ---------------------------------------------

    core::JobQueue& job_queue(const httplib::Request& req) {
        Principal who = authenticate(req);
        if (who.is_guest()) throw Error(ErrorKind::unauthenticated, "log in first");
        if (!who.is_superuser()) {
            throw Error(ErrorKind::permission, "only Admin and System may enqueue or read jobs");
        }
        if (!services.queue || !services.jobs) {
            throw Error(ErrorKind::unavailable, "this server has no job queue");
        }
        return *services.queue;
    }

    /// POST /api/v1/jobs/{name}: the body is the kwargs object; an Idempotency-Key header is the
    /// job id (enqueueing it again answers the existing job). 202 with the job's status.
    void job_enqueue(const httplib::Request& req, httplib::Response& res) {
        core::JobQueue& queue = job_queue(req);
        const core::JobDef& def = services.jobs->get(req.matches[1].str());
        Json kwargs = body_object(req, true);
        auto record = queue.enqueue(
            def, kwargs, core::EnqueueOptions{req.get_header_value("Idempotency-Key"), 0});
        send_json(res, 202, record.to_json());
    }

    void job_status(const httplib::Request& req, httplib::Response& res) {
        core::JobQueue& queue = job_queue(req);
        const std::string id = req.matches[1].str();
        auto record = queue.status(id);
        if (!record) throw Error(ErrorKind::not_found, fmt::format("no job '{}'", id));
        send_json(res, 200, record->to_json());
    }

    void stream(const httplib::Request& req, httplib::Response& res) {
        TokenInfo token;
        Principal who = authenticate(req, true, &token);
        if (who.is_guest()) {
            throw Error(ErrorKind::unauthenticated, "authentication required for the stream");
        }
        auto state = std::make_shared<StreamState>();
        state->who = who;
        state->session_id = token.session_id;
        state->expires = token.expires;
        if (req.has_param("doctypes")) {
            std::string list = req.get_param_value("doctypes");
            std::size_t pos = 0;
            while (pos <= list.size()) {
                std::size_t comma = list.find(',', pos);
                if (comma == std::string::npos) comma = list.size();
                std::string name = list.substr(pos, comma - pos);
                if (!name.empty()) {
                    const core::DocType& dt = doctype(name);
                    core::require(dt, who, "read");
                    state->doctypes.insert(dt.name);
                }
                pos = comma + 1;
            }
        }
        std::optional<std::uint64_t> last_id;
        std::string last = req.get_header_value("Last-Event-ID");
        if (last.empty() && req.has_param("last_event_id")) {
            last = req.get_param_value("last_event_id");
        }
        if (!last.empty()) {
            try {
                std::size_t used = 0;
                last_id = std::stoull(last, &used);
                if (used != last.size()) throw std::invalid_argument("trailing");
            } catch (const std::exception&) {
                throw Error(ErrorKind::validation,
                            fmt::format("Last-Event-ID must be an event id, got '{}'", last));
            }
        }
        stream_slots->take(who.user); // given back when the stream ends
        state->release = [slots = stream_slots, user = who.user] { slots->give_back(user); };
        events.replay(last_id, [&](core::EventBus::Missed missed) {
            std::string initial = "retry: 2000\n: connected\n\n";
            if (!missed) {
                // Too old to replay: tell the client to reload what it shows.
                initial += "event: reset\ndata: {\"reason\":\"missed events\"}\n\n";
            } else {
                for (const auto& e : *missed) {
                    const core::DocType* dt = meta.find(e.doctype);
                    if (!dt || !dt->api_resource || !core::allowed(*dt, who, "read") ||
                        !core::rls_visible(*dt, who, e.rls_value) ||
                        (!state->doctypes.empty() && !state->doctypes.count(e.doctype))) {
                        continue;
                    }
                    initial += fmt::format("id: {}\nevent: {}\ndata: {}\n\n", e.id, e.topic,
                                           e.payload().dump());
                }
            }
            http.open_stream(res, std::move(initial), state);
        });
    }
};

ServerApp::ServerApp(const core::MetaRegistry& meta, core::Database& db,
                     const core::ControllerRegistry& controllers, core::EventBus& events,
                     ServeOptions options, Services services)
    : m_impl(std::make_unique<Impl>(meta, db, controllers, events, std::move(options), services)) {}

ServerApp::~ServerApp() = default;

int ServerApp::bind() {
    m_impl->http.bind();
    return m_impl->http.port();
}

void ServerApp::run() {
    m_impl->http.listen();
}

void ServerApp::stop() {
    m_impl->http.stop();
}

HttpServer& ServerApp::http() {
    return m_impl->http;
}

} // namespace m::server
