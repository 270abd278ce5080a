// The auth routes of `m serve`: log in, refresh, log out, who am I — and the cookies the Desk
// keeps its session in (docs/reference/http-api.md, "Authentication").
#include "routes.hpp"

#include <fmt/format.h>

namespace m::server {

namespace {

/// The access token's cookie (every path) and the refresh token's (only the refresh path: no
/// other request carries it, and SameSite=Strict keeps it from cross-site posts).
std::string session_cookie(const Api& api, const httplib::Request& req, const std::string& token,
                           std::int64_t max_age) {
    return fmt::format("m_token={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}", token,
                       max_age, secure(api.options, req) ? "; Secure" : "");
}

std::string refresh_cookie(const Api& api, const httplib::Request& req, const std::string& token,
                           std::int64_t max_age) {
    return fmt::format("m_refresh={}; Path=/api/v1/auth/refresh; Max-Age={}; HttpOnly; "
                       "SameSite=Strict{}",
                       token, max_age, secure(api.options, req) ? "; Secure" : "");
}

/// The answer of login and refresh: both cookies, and the tokens in JSON — without the refresh
/// token when the caller asked for `"session": "cookie"` (the Desk: no token where its
/// JavaScript could read it).
void send_tokens(const Api& api, const httplib::Request& req, httplib::Response& res,
                 const Json& body, TokenPair tokens) {
    res.set_header("Set-Cookie", session_cookie(api, req, tokens.access_token, tokens.expires_in));
    if (!tokens.refresh_token.empty()) {
        res.headers.emplace("Set-Cookie", refresh_cookie(api, req, tokens.refresh_token,
                                                         api.options.auth.refresh_ttl_s));
    }
    // A refresh never hands back the token it was given (as before the cookie existed).
    if (string_member(body, "session") == "cookie" || req.path == "/api/v1/auth/refresh") {
        tokens.refresh_token.clear();
    }
    send_json(res, 200, tokens.to_json());
}

} // namespace

void login(Api& api, const httplib::Request& req, httplib::Response& res) {
    Json body = body_object(req);
    std::string name = string_member(body, "email");
    if (name.empty()) name = string_member(body, "username");
    const std::string password = string_member(body, "password");
    TokenPair tokens = api.auth.login(name, password, client_address(api.options, req));
    t_request.user = name;
    send_tokens(api, req, res, body, tokens);
}

void refresh(Api& api, const httplib::Request& req, httplib::Response& res) {
    Json body = body_object(req, true);
    std::string token = string_member(body, "refresh_token");
    if (token.empty()) token = cookie_value(req, "m_refresh");
    if (token.empty()) throw Error(ErrorKind::validation, "refresh_token is required");
    TokenPair tokens = api.auth.refresh(token);
    tokens.refresh_token = token; // the same session: the cookie is renewed
    send_tokens(api, req, res, body, tokens);
}

void logout(Api& api, const httplib::Request& req, httplib::Response& res) {
    Json body = body_object(req, true);
    std::string token = header_token(req);
    if (token.empty()) token = cookie_value(req, "m_token");
    if (std::string given = string_member(body, "refresh_token"); !given.empty()) token = given;
    if (token.empty()) throw Error(ErrorKind::unauthenticated, "no session to end");
    api.auth.logout(token);
    res.set_header("Set-Cookie", session_cookie(api, req, "", 0));
    res.headers.emplace("Set-Cookie", refresh_cookie(api, req, "", 0));
    res.status = 204;
}

void me(Api& api, const httplib::Request& req, httplib::Response& res) {
    Principal who = api.authenticate(req);
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
        auto session = api.db.session();
        Json user =
            api.docs.get(*session, std::string(core::k_user_doctype), who.user, who.elevated());
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

} // namespace m::server
