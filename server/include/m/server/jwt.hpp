// JSON Web Tokens, HS256 only (RFC 7519 / 7515), on OpenSSL's HMAC-SHA256.
//
// The algorithm is pinned: a token whose header names anything but HS256 (including "none") is
// refused before its signature is looked at; signatures are compared in constant time; `exp` is
// required and enforced, `nbf`/`iat` in the future (beyond `leeway_s`) are refused.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace m::server {

/// A signed token for `claims` (an object; the caller sets exp/iat/sub/...).
std::string jwt_sign(const nlohmann::json& claims, std::string_view secret);

/// The claims of a valid token. Throws core::Error{unauthenticated} with a precise message
/// ("token expired", "token signature invalid", "token algorithm 'none' not accepted",
/// "malformed token") otherwise. `now` is Unix seconds.
nlohmann::json jwt_verify(std::string_view token, std::string_view secret, std::int64_t now,
                          std::int64_t leeway_s = 5);

/// base64url without padding (RFC 4648 §5), and its inverse (throws core::Error{unauthenticated}
/// on bad input).
std::string base64url_encode(std::string_view bytes);
std::string base64url_decode(std::string_view text);

} // namespace m::server
