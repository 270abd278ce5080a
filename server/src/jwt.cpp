#include "m/server/jwt.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <climits>
#include <optional>
#include <vector>

namespace m::server {

using core::Error;
using core::ErrorKind;
using nlohmann::json;

namespace {

// The header is a fixed string rather than a dumped object so the signed bytes never depend on
// the JSON library's key order or formatting.
constexpr std::string_view k_header = R"({"alg":"HS256","typ":"JWT"})";
constexpr std::string_view k_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::size_t k_sha256_size = 32;

[[noreturn]] void fail(const std::string& message) {
    throw Error(ErrorKind::unauthenticated, message);
}

[[noreturn]] void bad_base64(const std::string& reason) {
    throw Error(ErrorKind::unauthenticated, "invalid base64url: " + reason);
}

const unsigned char* bytes_of(std::string_view s) {
    // OpenSSL wants a non-null pointer even for empty input.
    return reinterpret_cast<const unsigned char*>(s.empty() ? "" : s.data());
}

/// Value of one base64url character, or -1.
int sextet(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/// Attacker-chosen text made safe for a log line or a response body: printable ASCII only,
/// at most `max` characters.
std::string printable(std::string_view text, std::size_t max = 32) {
    std::string out;
    for (char c : text.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (text.size() > max) out += "...";
    return out;
}

std::array<unsigned char, k_sha256_size> hmac_sha256(std::string_view key, std::string_view data) {
    // An empty key is a server misconfiguration, not a bad token; refusing it here keeps anyone
    // from minting tokens that verify against an unset secret.
    if (key.empty()) throw Error(ErrorKind::internal, "JWT secret is empty");
    if (key.size() > static_cast<std::size_t>(INT_MAX)) {
        throw Error(ErrorKind::internal, "JWT secret is too long");
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int size = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes_of(data), data.size(),
             out.data(), &size) == nullptr ||
        size != k_sha256_size) {
        throw Error(ErrorKind::internal, "HMAC-SHA256 failed in OpenSSL");
    }
    std::array<unsigned char, k_sha256_size> mac{};
    std::copy_n(out.begin(), k_sha256_size, mac.begin());
    return mac;
}

std::string_view as_text(const std::array<unsigned char, k_sha256_size>& mac) {
    return {reinterpret_cast<const char*>(mac.data()), mac.size()};
}

/// One part of a token, decoded; `what` names it in the message.
std::string decode_part(std::string_view part, const char* what) {
    try {
        return base64url_decode(part);
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
    std::string token = base64url_encode(k_header);
    token += '.';
    token += base64url_encode(payload);
    const auto mac = hmac_sha256(secret, token);
    token += '.';
    token += base64url_encode(as_text(mac));
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

    const auto expected = hmac_sha256(secret, token.substr(0, second));
    if (signature.size() != expected.size() ||
        CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
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

std::string base64url_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    std::size_t i = 0;
    auto at = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
    for (; i + 3 <= bytes.size(); i += 3) {
        const unsigned v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
        out += k_alphabet[(v >> 18) & 63];
        out += k_alphabet[(v >> 12) & 63];
        out += k_alphabet[(v >> 6) & 63];
        out += k_alphabet[v & 63];
    }
    if (bytes.size() - i == 1) {
        const unsigned v = at(i) << 16;
        out += k_alphabet[(v >> 18) & 63];
        out += k_alphabet[(v >> 12) & 63];
    } else if (bytes.size() - i == 2) {
        const unsigned v = (at(i) << 16) | (at(i + 1) << 8);
        out += k_alphabet[(v >> 18) & 63];
        out += k_alphabet[(v >> 12) & 63];
        out += k_alphabet[(v >> 6) & 63];
    }
    return out;
}

std::string base64url_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size() * 3 / 4);
    unsigned buffer = 0;
    int bits = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const int v = sextet(c);
        if (v < 0) {
            if (c == '=') bad_base64(fmt::format("padding '=' at offset {} is not accepted", i));
            if (c >= 0x20 && c < 0x7f) bad_base64(fmt::format("character '{}' at offset {}", c, i));
            bad_base64(fmt::format("byte 0x{:02X} at offset {}", static_cast<unsigned char>(c), i));
        }
        buffer = (buffer << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xFF);
        }
    }
    if (text.size() % 4 == 1) bad_base64(fmt::format("length {} is impossible", text.size()));
    // Leftover bits must be zero: otherwise several strings decode to the same bytes, and a
    // token could be altered without touching its signature.
    if ((buffer & ((1u << bits) - 1)) != 0) bad_base64("non-zero trailing bits");
    return out;
}

} // namespace m::server
