// The cryptographic primitives (core/crypto.hpp) against published test vectors.
#include "m/core/crypto.hpp"
#include "m/core/error.hpp"

#include <catch2/catch.hpp>

#include <set>

namespace {

std::string hex(const m::core::Sha256& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

} // namespace

TEST_CASE("crypto: SHA-256 and HMAC-SHA256 match FIPS 180-2 and RFC 4231", "[crypto]") {
    CHECK(m::core::sha256_hex("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(m::core::sha256_hex("") ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    // RFC 4231 test case 2 (a short key) and 6 (a key longer than the block size).
    CHECK(hex(m::core::hmac_sha256("Jefe", "what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(hex(m::core::hmac_sha256(std::string(131, '\xaa'),
                                   "Test Using Larger Than Block-Size Key - Hash Key First")) ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("crypto: random tokens are base64url of the asked length and differ", "[crypto]") {
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        const std::string t = m::core::random_token(32);
        CHECK(t.size() == 43);
        CHECK(m::core::base64url_decode(t).size() == 32);
        seen.insert(t);
    }
    CHECK(seen.size() == 100);
    CHECK(m::core::random_bytes(0).empty());
}

TEST_CASE("crypto: constant-time comparison compares lengths and bytes", "[crypto]") {
    CHECK(m::core::equal_constant_time("abc", "abc"));
    CHECK_FALSE(m::core::equal_constant_time("abc", "abd"));
    CHECK_FALSE(m::core::equal_constant_time("abc", "ab"));
    CHECK(m::core::equal_constant_time("", ""));
}

TEST_CASE("base64url: round trips every byte value, without padding", "[crypto]") {
    std::string all;
    for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
    for (std::size_t n = 0; n <= all.size(); ++n) {
        const std::string bytes = all.substr(all.size() - n); // every length, every byte at 255
        const std::string text = m::core::base64url_encode(bytes);
        CHECK(text.size() == (n * 4 + 2) / 3);
        CHECK(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789-_") == std::string::npos);
        CHECK(m::core::base64url_decode(text) == bytes);
    }
    // RFC 4648 §10 vectors (padding removed).
    CHECK(m::core::base64url_encode("") == "");
    CHECK(m::core::base64url_encode("f") == "Zg");
    CHECK(m::core::base64url_encode("fo") == "Zm8");
    CHECK(m::core::base64url_encode("foo") == "Zm9v");
    CHECK(m::core::base64url_encode("foob") == "Zm9vYg");
    CHECK(m::core::base64url_encode("fooba") == "Zm9vYmE");
    CHECK(m::core::base64url_encode("foobar") == "Zm9vYmFy");
    CHECK(m::core::base64url_encode("\xfb\xff") == "-_8");
}

TEST_CASE("base64url: strict decoding", "[crypto]") {
    auto message = [](std::string_view text) {
        try {
            m::core::base64url_decode(text);
        } catch (const m::core::Error& e) {
            CHECK(e.kind() == m::core::ErrorKind::validation);
            return std::string(e.what());
        }
        FAIL("accepted");
        return std::string();
    };
    CHECK(message("Zg==") == "invalid base64url: padding '=' at offset 2 is not accepted");
    CHECK(message("Zm9v+/") == "invalid base64url: character '+' at offset 4");
    CHECK(message("Zm 9v") == "invalid base64url: character ' ' at offset 2");
    CHECK(message(std::string_view("Zm\0v", 4)) == "invalid base64url: byte 0x00 at offset 2");
    CHECK(message("Zm9vY") == "invalid base64url: length 5 is impossible");
    CHECK(message("Zh") == "invalid base64url: non-zero trailing bits");  // "Zg" is canonical
    CHECK(message("Zm9") == "invalid base64url: non-zero trailing bits"); // "Zm8" is canonical
}
