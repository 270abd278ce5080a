#include "m/core/crypto.hpp"
#include "m/core/error.hpp"
#include "m/server/jwt.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <set>

using m::core::base64url_decode;
using m::core::base64url_encode;
using m::core::Error;
using m::core::ErrorKind;
using m::server::jwt_sign;
using m::server::jwt_verify;
using nlohmann::json;

namespace {

constexpr std::int64_t k_now = 1'700'000'000;
const std::string k_secret = "test-secret-0123456789abcdef-0123";

/// The message of the core::Error{unauthenticated} that `verify` throws (fails the test if it
/// throws nothing or something else).
template <typename F> std::string refusal(F&& verify) {
    try {
        verify();
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::unauthenticated);
        return e.what();
    }
    FAIL("the token was accepted");
    return {};
}

std::string refusal_of(const std::string& token, std::string_view secret = k_secret,
                       std::int64_t now = k_now) {
    return refusal([&] { jwt_verify(token, secret, now); });
}

std::vector<std::string> split(const std::string& token) {
    std::vector<std::string> parts{""};
    for (char c : token) {
        if (c == '.') {
            parts.emplace_back();
        } else {
            parts.back() += c;
        }
    }
    return parts;
}

std::string join(const std::vector<std::string>& parts) {
    return parts.at(0) + "." + parts.at(1) + "." + parts.at(2);
}

/// A token for any header and payload text, with a correct HS256 signature computed by OpenSSL
/// directly (independently of jwt_sign): only the content can make such a token fail.
std::string sign_raw(std::string_view header, std::string_view payload,
                     std::string_view secret = k_secret) {
    const std::string input = base64url_encode(header) + "." + base64url_encode(payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    REQUIRE(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                 reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                 &size) != nullptr);
    return input + "." + base64url_encode({reinterpret_cast<const char*>(mac), size});
}

constexpr std::string_view k_hs256 = R"({"alg":"HS256","typ":"JWT"})";

json valid_claims() {
    return {{"sub", "ada@example.com"}, {"exp", k_now + 3600}, {"iat", k_now}};
}

} // namespace

TEST_CASE("jwt: a signed token verifies and returns its claims", "[auth]") {
    const json claims = valid_claims();
    const std::string token = jwt_sign(claims, k_secret);
    CHECK(split(token).size() == 3);
    CHECK(token.find('=') == std::string::npos);
    CHECK(jwt_verify(token, k_secret, k_now) == claims);
    CHECK(json::parse(base64url_decode(split(token)[0])) == json{{"alg", "HS256"}, {"typ", "JWT"}});
}

TEST_CASE("jwt: interoperates with a token computed by openssl dgst -hmac", "[auth]") {
    // H=$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | b64url)
    // P=$(printf '%s' '{"exp":4102444800,"name":"Ada Lovelace","sub":"ada@example.com"}' | b64url)
    // S=$(printf '%s' "$H.$P" | openssl dgst -sha256 -hmac 'interop-secret-0123456789abcdef'
    //     -binary | b64url)      with b64url = openssl base64 -A | tr '+/' '-_' | tr -d '='
    const std::string expected =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJleHAiOjQxMDI0NDQ4MDAsIm5hbWUiOiJBZGEgTG92ZWxhY2UiLCJzdWIiOiJhZGFAZXhhbXBsZS5jb20ifQ."
        "3SdYfl6OQe1ga26qLldr3xdNHeI3gwt1adQX9BI2MiQ";
    const std::string secret = "interop-secret-0123456789abcdef";
    const json claims = {{"exp", 4102444800}, {"name", "Ada Lovelace"}, {"sub", "ada@example.com"}};
    CHECK(jwt_sign(claims, secret) == expected);
    CHECK(jwt_verify(expected, secret, k_now) == claims);
}

TEST_CASE("jwt: verifies the HS256 example of RFC 7515 appendix A.1", "[auth]") {
    // Header and payload contain CRLF and spaces, the key is binary: the MAC covers the encoded
    // text as received, not a re-serialisation.
    const std::string key =
        base64url_decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aK"
                         "tMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
    const std::string token =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cn"
        "VlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const json claims = jwt_verify(token, key, 1300819380);
    CHECK(claims.at("iss").get<std::string>() == "joe");
    CHECK(claims.at("http://example.com/is_root").get<bool>());
    CHECK(refusal_of(token, key, 1300819380 + 6) == "token expired");
}

TEST_CASE("jwt: tampering and wrong secrets are refused", "[auth]") {
    const std::string token = jwt_sign(valid_claims(), k_secret);
    auto parts = split(token);

    SECTION("tampered payload") {
        json claims = valid_claims();
        claims["sub"] = "root@example.com";
        parts[1] = base64url_encode(claims.dump());
        CHECK(refusal_of(join(parts)) == "token signature invalid");
    }
    SECTION("tampered signature") {
        std::string mac = base64url_decode(parts[2]);
        mac[7] = static_cast<char>(mac[7] ^ 0x01);
        parts[2] = base64url_encode(mac);
        CHECK(refusal_of(join(parts)) == "token signature invalid");
    }
    SECTION("truncated signature") {
        parts[2] = base64url_encode(base64url_decode(parts[2]).substr(0, 16));
        CHECK(refusal_of(join(parts)) == "token signature invalid");
    }
    SECTION("empty signature") {
        parts[2].clear();
        CHECK(refusal_of(join(parts)) == "token signature invalid");
    }
    SECTION("wrong secret") {
        CHECK(refusal_of(token, "another-secret-0123456789abcdef") == "token signature invalid");
        CHECK(refusal_of(token, k_secret + "x") == "token signature invalid");
    }
    SECTION("another spelling of the same signature bytes") {
        // 32 bytes = 43 characters with 2 unused bits; setting them must not yield a second valid
        // token string.
        std::string& sig = parts[2];
        REQUIRE(sig.size() == 43);
        const std::string alphabet =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        sig.back() = alphabet[alphabet.find(sig.back()) ^ 1];
        CHECK(refusal_of(join(parts)).find("malformed token: signature") == 0);
    }
}

TEST_CASE("jwt: only HS256 is accepted, checked before the signature", "[auth]") {
    const std::string payload = base64url_encode(valid_claims().dump());

    SECTION("alg none, unsigned") {
        const std::string token =
            base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".";
        CHECK(refusal_of(token) == "token algorithm 'none' not accepted");
    }
    SECTION("alg HS512 with a valid HS256 signature") {
        // The signature is a correct HS256 MAC of this very header and payload, so only the alg
        // can make it fail.
        const std::string token = sign_raw(R"({"alg":"HS512","typ":"JWT"})", valid_claims().dump());
        CHECK(refusal_of(token) == "token algorithm 'HS512' not accepted");
        CHECK_NOTHROW(jwt_verify(sign_raw(k_hs256, valid_claims().dump()), k_secret, k_now));
    }
    SECTION("alg RS256") {
        const std::string token =
            base64url_encode(R"({"alg":"RS256"})") + "." + payload + "." + base64url_encode("x");
        CHECK(refusal_of(token) == "token algorithm 'RS256' not accepted");
    }
    SECTION("alg in another case") {
        const std::string token = base64url_encode(R"({"alg":"hs256"})") + "." + payload + ".";
        CHECK(refusal_of(token) == "token algorithm 'hs256' not accepted");
    }
    SECTION("alg missing") {
        const std::string token = base64url_encode(R"({"typ":"JWT"})") + "." + payload + ".";
        CHECK(refusal_of(token) == "token algorithm missing (header has no 'alg')");
    }
    SECTION("alg not a string") {
        const std::string token = base64url_encode(R"({"alg":256})") + "." + payload + ".";
        CHECK(refusal_of(token) == "token algorithm 256 not accepted");
    }
    SECTION("control characters in alg do not reach the message") {
        const std::string token =
            base64url_encode("{\"alg\":\"x\\u0000\\n\\u001b[31m\"}") + "." + payload + ".";
        CHECK(refusal_of(token) == "token algorithm 'x???[31m' not accepted");
    }
    SECTION("critical header extensions") {
        const std::string token =
            base64url_encode(R"({"alg":"HS256","crit":["b64"],"b64":false})") + "." + payload + ".";
        CHECK(refusal_of(token) == "token header 'crit' not supported");
    }
}

TEST_CASE("jwt: time claims", "[auth]") {
    auto token_with = [](json claims) { return jwt_sign(claims, k_secret); };

    SECTION("expired, with leeway") {
        const std::string token = token_with({{"exp", k_now}});
        CHECK_NOTHROW(jwt_verify(token, k_secret, k_now + 5)); // the default leeway: 5 s
        CHECK(refusal_of(token, k_secret, k_now + 6) == "token expired");
        CHECK(refusal([&] { jwt_verify(token, k_secret, k_now + 1, 0); }) == "token expired");
        CHECK_NOTHROW(jwt_verify(token, k_secret, k_now, 0));
    }
    SECTION("fractional exp") {
        const std::string token = token_with({{"exp", static_cast<double>(k_now) + 0.5}});
        CHECK_NOTHROW(jwt_verify(token, k_secret, k_now, 0));
        CHECK(refusal([&] { jwt_verify(token, k_secret, k_now + 1, 0); }) == "token expired");
    }
    SECTION("exp missing") {
        CHECK(refusal_of(token_with({{"sub", "ada"}})) ==
              "token has no expiry (claim 'exp' missing)");
    }
    SECTION("exp not a number") {
        CHECK(refusal_of(token_with({{"exp", std::to_string(k_now + 60)}})) ==
              "token claim 'exp' is not a number");
        CHECK(refusal_of(token_with({{"exp", true}})) == "token claim 'exp' is not a number");
        CHECK(refusal_of(token_with({{"exp", nullptr}})) == "token claim 'exp' is not a number");
    }
    SECTION("not yet valid") {
        const std::string token = token_with({{"exp", k_now + 3600}, {"nbf", k_now + 60}});
        CHECK(refusal_of(token) == "token not yet valid (nbf)");
        CHECK_NOTHROW(jwt_verify(token, k_secret, k_now + 55));
        CHECK_NOTHROW(jwt_verify(token, k_secret, k_now + 60, 0));
    }
    SECTION("issued in the future") {
        const std::string token = token_with({{"exp", k_now + 3600}, {"iat", k_now + 6}});
        CHECK(refusal_of(token) == "token issued in the future (iat)");
        CHECK_NOTHROW(jwt_verify(token, k_secret, k_now + 1));
    }
    SECTION("nbf not a number") {
        CHECK(refusal_of(token_with({{"exp", k_now + 60}, {"nbf", "soon"}})) ==
              "token claim 'nbf' is not a number");
    }
}

TEST_CASE("jwt: malformed tokens", "[auth]") {
    const std::string token = jwt_sign(valid_claims(), k_secret);
    const auto parts = split(token);
    auto starts_with = [](const std::string& s, std::string_view prefix) {
        return s.rfind(prefix, 0) == 0;
    };

    CHECK(refusal_of("") == "malformed token: expected 3 dot-separated parts, got 1");
    CHECK(refusal_of(parts[0] + "." + parts[1]) ==
          "malformed token: expected 3 dot-separated parts, got 2");
    CHECK(refusal_of(token + ".") == "malformed token: expected 3 dot-separated parts, got 4");
    CHECK(refusal_of("..") == "malformed token: header is not a JSON object");

    // Standard base64 characters, padding, whitespace and bytes outside ASCII.
    CHECK(refusal_of("eyJ+" + token.substr(4)) ==
          "malformed token: header is not base64url (invalid base64url: character '+' at offset "
          "3)");
    CHECK(refusal_of(parts[0] + "==." + parts[1] + "." + parts[2]) ==
          "malformed token: header is not base64url (invalid base64url: padding '=' at offset 36 "
          "is not accepted)");
    CHECK(starts_with(refusal_of(parts[0] + "." + parts[1] + " ." + parts[2]),
                      "malformed token: payload is not base64url"));
    CHECK(starts_with(refusal_of(parts[0] + "." + parts[1] + "." + parts[2] + "\xff"),
                      "malformed token: signature is not base64url"));

    SECTION("header not JSON") {
        const std::string t = base64url_encode("alg: HS256") + "." + parts[1] + "." + parts[2];
        CHECK(refusal_of(t) == "malformed token: header is not a JSON object");
    }
    SECTION("header a JSON array") {
        const std::string t = base64url_encode(R"(["HS256"])") + "." + parts[1] + "." + parts[2];
        CHECK(refusal_of(t) == "malformed token: header is not a JSON object");
    }
    SECTION("payload a JSON array, correctly signed") {
        CHECK(refusal_of(sign_raw(k_hs256, "[1,2]")) ==
              "malformed token: payload is not a JSON object");
        CHECK(refusal_of(sign_raw(k_hs256, R"({"exp":)")) ==
              "malformed token: payload is not a JSON object");
        CHECK_THROWS_AS(jwt_sign(json::array({1, 2}), k_secret), Error);
    }
    SECTION("header an object that is not UTF-8, correctly signed") {
        CHECK(refusal_of(sign_raw("{\"alg\":\"HS256\",\"x\":\"\xff\"}", valid_claims().dump())) ==
              "malformed token: header is not a JSON object");
    }
}

TEST_CASE("jwt: an empty secret is refused as a server error", "[auth]") {
    try {
        jwt_sign(valid_claims(), "");
        FAIL("signed with an empty secret");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::internal);
    }
}
