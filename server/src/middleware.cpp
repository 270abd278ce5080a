// What runs around every request of `m serve`: before routing (the request id, security headers,
// the UTF-8 check of path and query, the encoding and body-length fixes, CORS), the JSON answers
// of httplib's own errors and of exceptions, and after the reply the access log and metrics.
#include "routes.hpp"

#include "m/core/json_input.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>

namespace m::server {

namespace {

std::atomic<unsigned long long> g_request_counter{0};

/// The Content-Security-Policy of the Desk: its build has no inline script (antd injects styles).
constexpr const char* k_desk_csp =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
/// Everything else is data, never a page.
constexpr const char* k_api_csp = "default-src 'none'; frame-ancestors 'none'";

/// On every response (docs/ARCHITECTURE.md, threat model): the Desk's CSP on its pages, a
/// deny-all one elsewhere; no sniffing, no framing, no referrer leaving the site.
void security_headers(const ServeOptions& options, const httplib::Request& req,
                      httplib::Response& res) {
    const bool desk = req.path == "/desk" || req.path.rfind("/desk/", 0) == 0;
    res.set_header("Content-Security-Policy", desk ? k_desk_csp : k_api_csp);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Referrer-Policy", "no-referrer");
    if (secure(options, req)) res.set_header("Strict-Transport-Security", "max-age=31536000");
}

bool params_valid_utf8(const httplib::Request& req) {
    for (const auto& [key, value] : req.params) {
        if (!core::valid_utf8(key) || !core::valid_utf8(value)) return false;
    }
    return true;
}

/// CORS (closed unless server.cors_origins lists the origin). Returns true when the request was
/// a preflight and has been answered.
bool cors(const ServeOptions& options, const httplib::Request& req, httplib::Response& res) {
    const std::string origin = req.get_header_value("Origin");
    bool allowed = !origin.empty() &&
                   std::find(options.cors_origins.begin(), options.cors_origins.end(), origin) !=
                       options.cors_origins.end();
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

/// httplib compresses with brotli whenever a client accepts it, at brotli's slowest quality (11,
/// about 1 MB/s here): the Desk's 450 KB script took 2 s to send to a browser and every JSON
/// reply paid for it too. gzip (zlib level 6) costs a fiftieth of that for ~15 % more bytes, so
/// other encodings are dropped from Accept-Encoding before httplib reads it. The request object
/// belongs to httplib's request loop and is not const there.
void prefer_gzip(const httplib::Request& req) {
    auto& headers = const_cast<httplib::Request&>(req).headers;
    auto it = headers.find("Accept-Encoding");
    if (it == headers.end()) return;
    if (it->second.find("gzip") != std::string::npos) {
        it->second = "gzip";
    } else {
        headers.erase(it);
    }
}

/// A POST or PUT without Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3), as
/// with `curl -X POST …/submit`; httplib 0.11 would instead read until the client closes, and
/// answer 400 after its 5 s read timeout.
void no_length_means_no_body(const httplib::Request& req) {
    if (req.method != "POST" && req.method != "PUT" && req.method != "PATCH") return;
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) return;
    const_cast<httplib::Request&>(req).headers.emplace("Content-Length", "0");
}

/// A client's X-Request-Id when it is short and plain, else a counter of this process.
std::string request_id(const httplib::Request& req) {
    std::string given = req.get_header_value("X-Request-Id");
    bool usable = !given.empty() && given.size() <= 64 &&
                  given.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789-_.") == std::string::npos;
    return usable ? given : fmt::format("{:x}", ++g_request_counter);
}

httplib::Server::HandlerResponse before(const ServeOptions& options, const httplib::Request& req,
                                        httplib::Response& res) {
    t_request.start = Clock::now();
    t_request.route.clear();
    t_request.user.clear();
    t_request.id = request_id(req);
    res.set_header("X-Request-Id", t_request.id);
    security_headers(options, req, res);
    if (!core::valid_utf8(req.path) || !params_valid_utf8(req)) {
        send_json(res, 400,
                  error_body("ValidationError", "the request path or query is not UTF-8", nullptr));
        return httplib::Server::HandlerResponse::Handled;
    }
    prefer_gzip(req);
    no_length_means_no_body(req);
    return cors(options, req, res) ? httplib::Server::HandlerResponse::Handled
                                   : httplib::Server::HandlerResponse::Unhandled;
}

/// httplib's own answers (no route, body too large, a bad request) in the JSON error shape.
void error_page(const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413) {
        send_json(res, 413, error_body("ValidationError", "request body too large", nullptr));
    } else if (res.status == 404) {
        send_json(res, 404, error_body("NotFound", "no such route", nullptr));
    } else if (res.status >= 500) {
        send_json(res, res.status, error_body("InternalError", "server error", nullptr));
    } else {
        send_json(res, res.status, error_body("ValidationError", "bad request", nullptr));
    }
}

void exception_page(const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
        std::rethrow_exception(ep);
    } catch (const core::Error& e) {
        send_error(res, e);
    } catch (const std::exception& e) {
        send_error(res, core::Error(core::ErrorKind::internal, e.what()));
    } catch (...) {
        send_error(res, core::Error(core::ErrorKind::internal, "unknown exception"));
    }
}

void after(Api& api, const httplib::Request& req, const httplib::Response& res) {
    double seconds = std::chrono::duration<double>(Clock::now() - t_request.start).count();
    const std::string& route =
        t_request.route.empty() ? std::string("(unmatched)") : t_request.route;
    api.metrics.record(req.method, route, res.status, seconds);
    if (!api.options.access_log) return;
    // The path only: query strings may carry ?token= (the stream) and are not logged.
    log_line(fmt::format("ts={} level=info msg=request request_id={} method={} path={:?} "
                         "status={} duration_ms={:.3f} user={:?} client={}",
                         utc_now_text(), t_request.id, req.method, req.path, res.status,
                         seconds * 1000, t_request.user, req.remote_addr));
}

} // namespace

void install_middleware(Api& api) {
    auto& svr = api.http.routes();
    svr.set_pre_routing_handler([&api](const httplib::Request& req, httplib::Response& res) {
        return before(api.options, req, res);
    });
    svr.set_error_handler(error_page);
    svr.set_exception_handler(exception_page);
    svr.set_logger([&api](const httplib::Request& req, const httplib::Response& res) {
        after(api, req, res);
    });
}

} // namespace m::server
