// The answers of `m serve`: the one mapping of error kinds to HTTP statuses and the JSON error
// shape (docs/reference/http-api.md, "Errors"), and the log line writer.
#include "api.hpp"

#include "m/core/values.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <mutex>

namespace m::server {

thread_local RequestContext t_request;

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

} // namespace m::server
