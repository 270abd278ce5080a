// Reading a request of `m serve`: body members, query integers, the bearer token, cookies, and
// what a trusted proxy says about the client (its address, TLS).
#include "api.hpp"

#include "m/core/json_input.hpp"
#include "m/core/values.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace m::server {

std::string string_member(const Json& body, const char* key, bool required) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) {
        if (required) throw Error(ErrorKind::validation, fmt::format("{} is required", key));
        return {};
    }
    if (!it->is_string())
        throw Error(ErrorKind::validation, fmt::format("{} must be a string", key));
    return it->get<std::string>();
}

Json body_object(const httplib::Request& req, bool allow_empty) {
    if (req.body.empty() && allow_empty) return Json::object();
    Json body = core::parse_json_input(req.body, "body");
    if (!body.is_object()) throw Error(ErrorKind::validation, "the body must be a JSON object");
    return body;
}

long long query_integer(const httplib::Request& req, const char* key, long long fallback,
                        long long lo, long long hi) {
    if (!req.has_param(key)) return fallback;
    const std::string text = req.get_param_value(key);
    const auto parsed = core::parse_integer(text);
    if (!parsed) {
        throw Error(ErrorKind::validation,
                    fmt::format("query parameter '{}' must be an integer, got '{}'", key, text));
    }
    const long long n = *parsed;
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

namespace {

bool listed(const std::vector<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

} // namespace

bool trusted_proxy(const ServeOptions& options, const httplib::Request& req) {
    return listed(options.trusted_proxies, req.remote_addr);
}

std::string client_address(const ServeOptions& options, const httplib::Request& req) {
    if (!trusted_proxy(options, req) || !req.has_header("X-Forwarded-For")) return req.remote_addr;
    std::string list = req.get_header_value("X-Forwarded-For");
    std::size_t end = list.size();
    while (end > 0) {
        std::size_t comma = list.rfind(',', end - 1);
        std::size_t begin = comma == std::string::npos ? 0 : comma + 1;
        std::string hop = list.substr(begin, end - begin);
        hop.erase(0, hop.find_first_not_of(" \t"));
        hop.erase(hop.find_last_not_of(" \t") + 1);
        if (!hop.empty() && !listed(options.trusted_proxies, hop)) return hop.substr(0, 64);
        if (comma == std::string::npos) break;
        end = comma;
    }
    return req.remote_addr;
}

bool secure(const ServeOptions& options, const httplib::Request& req) {
    return options.secure_cookies ||
           (trusted_proxy(options, req) && req.get_header_value("X-Forwarded-Proto") == "https");
}

} // namespace m::server
