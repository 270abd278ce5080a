// JSON Web Tokens, HS256 only (RFC 7519 / 7515), on core/crypto.hpp (libsodium's HMAC-SHA256).
// Our own code on purpose: Debian 12's JWT libraries do not fit (docs/DECISIONS.md,
// "Cryptography"; docs/reference/dependencies.md §9), and what is needed -- one algorithm,
// pinned -- is small enough to read in one sitting.
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

} // namespace m::server
