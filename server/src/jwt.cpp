#include "m/server/jwt.hpp"

#include "m/core/crypto.hpp"
#include "m/core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace m::server {

using core::Error;
using core::ErrorKind;
using nlohmann::json;

namespace {

// The header is a fixed string rather than a dumped object so the signed bytes never depend on
// the JSON library's key order or formatting.
constexpr std::string_view k_header = R"({"alg":"HS256","typ":"JWT"})";

[[noreturn]] void fail(const std::string& message) {
    throw Error(ErrorKind::unauthenticated, message);
}

/// Attacker-chosen text made safe for a log line or a response body: printable ASCII only,
/// at most `max` characters.
std::string printable(std::string_view text, std::size_t max = 32) {
    std::string out;
    for (char c : text.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (text.size() > max) out += "...";
    return out;
}

/// HMAC-SHA256 under the project's secret. An empty key is a server misconfiguration, not a
/// bad token; refusing it here keeps anyone from minting tokens that verify against an unset
/// secret.
core::Sha256 mac_of(std::string_view key, std::string_view data) {
    if (key.empty()) throw Error(ErrorKind::internal, "JWT secret is empty");
    return core::hmac_sha256(key, data);
}

std::string_view as_text(const core::Sha256& mac) {
    return {reinterpret_cast<const char*>(mac.data()), mac.size()};
}

/// One part of a token, decoded; `what` names it in the message.
std::string decode_part(std::string_view part, const char* what) {
    try {
        return core::base64url_decode(part);
    } catch (const Error& e) {
        fail(fmt::format("malformed token: {} is not base64url ({})", what, e.what()));
    }
}

json parse_object(const std::string& text, const char* what) {
    json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded() || !value.is_object()) {
        fail(fmt::format("malformed token: {} is not a JSON object", what));
    }
    return value;
}

/// A NumericDate claim (RFC 7519 §2: seconds, possibly fractional), when present.
std::optional<double> numeric_claim(const json& claims, const char* name) {
    auto it = claims.find(name);
    if (it == claims.end()) return std::nullopt;
    if (!it->is_number()) fail(fmt::format("token claim '{}' is not a number", name));
    return it->get<double>();
}

void check_algorithm(const json& header) {
    auto alg = header.find("alg");
    if (alg == header.end()) fail("token algorithm missing (header has no 'alg')");
    if (!alg->is_string()) {
        fail(fmt::format("token algorithm {} not accepted", printable(alg->dump())));
    }
    const auto& name = alg->get_ref<const std::string&>();
    if (name != "HS256") fail(fmt::format("token algorithm '{}' not accepted", printable(name)));
    // RFC 7515 §4.1.11: a recipient must refuse critical extensions it does not understand, and
    // this verifier understands none.
    if (header.contains("crit")) fail("token header 'crit' not supported");
}

} // namespace

std::string jwt_sign(const json& claims, std::string_view secret) {
    if (!claims.is_object()) throw Error(ErrorKind::internal, "JWT claims must be a JSON object");
    std::string payload;
    try {
        payload = claims.dump();
    } catch (const json::exception& e) {
        throw Error(ErrorKind::validation,
                    fmt::format("JWT claims cannot be encoded: {}", e.what()));
    }
    std::string token = core::base64url_encode(k_header);
    token += '.';
    token += core::base64url_encode(payload);
    const auto mac = mac_of(secret, token);
    token += '.';
    token += core::base64url_encode(as_text(mac));
    return token;
}

json jwt_verify(std::string_view token, std::string_view secret, std::int64_t now,
                std::int64_t leeway_s) {
    const auto first = token.find('.');
    const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
        const auto parts = std::count(token.begin(), token.end(), '.') + 1;
        fail(fmt::format("malformed token: expected 3 dot-separated parts, got {}", parts));
    }
    const auto header_part = token.substr(0, first);
    const auto payload_part = token.substr(first + 1, second - first - 1);
    const auto signature_part = token.substr(second + 1);

    // Decoding is not parsing: all three parts are checked for shape first, so a malformed token
    // is reported as such whichever part is broken.
    const std::string header_text = decode_part(header_part, "header");
    const std::string payload_text = decode_part(payload_part, "payload");
    const std::string signature = decode_part(signature_part, "signature");

    // The algorithm is pinned before the signature is looked at ("alg":"none", HS512, RS256 with
    // the HMAC secret as a public key, ...).
    check_algorithm(parse_object(header_text, "header"));

    const auto expected = mac_of(secret, token.substr(0, second));
    if (!core::equal_constant_time(signature, as_text(expected))) {
        fail("token signature invalid");
    }

    // Only a payload signed with our secret is parsed.
    json claims = parse_object(payload_text, "payload");
    const auto now_s = static_cast<double>(now);
    const auto leeway = static_cast<double>(leeway_s);
    const auto exp = numeric_claim(claims, "exp");
    if (!exp) fail("token has no expiry (claim 'exp' missing)");
    if (now_s > *exp + leeway) fail("token expired");
    if (auto nbf = numeric_claim(claims, "nbf"); nbf && *nbf > now_s + leeway) {
        fail("token not yet valid (nbf)");
    }
    if (auto iat = numeric_claim(claims, "iat"); iat && *iat > now_s + leeway) {
        fail("token issued in the future (iat)");
    }
    return claims;
}

} // namespace m::server
