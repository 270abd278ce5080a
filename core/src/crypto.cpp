// Cryptographic primitives on libsodium (crypto.hpp).
#include "m/core/crypto.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>
#include <sodium.h>

namespace m::core {

namespace {

constexpr int k_variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

void init() {
    // Idempotent and thread-safe (libsodium's documentation); cheap after the first call.
    if (sodium_init() < 0) throw Error(ErrorKind::internal, "libsodium failed to initialise");
}

const unsigned char* bytes_of(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

bool base64url_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

[[noreturn]] void bad_base64(const std::string& reason) {
    throw Error(ErrorKind::validation, "invalid base64url: " + reason);
}

} // namespace

std::string sha256_hex(std::string_view data) {
    init();
    Sha256 digest{};
    crypto_hash_sha256(digest.data(), bytes_of(data), data.size());
    char hex[k_sha256_bytes * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest.data(), digest.size());
    return hex;
}

Sha256 hmac_sha256(std::string_view key, std::string_view data) {
    init();
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, bytes_of(key), key.size());
    crypto_auth_hmacsha256_update(&state, bytes_of(data), data.size());
    Sha256 mac{};
    crypto_auth_hmacsha256_final(&state, mac.data());
    sodium_memzero(&state, sizeof state);
    return mac;
}

std::string base64url_encode(std::string_view bytes) {
    init();
    std::string out(sodium_base64_ENCODED_LEN(bytes.size(), k_variant), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes_of(bytes), bytes.size(), k_variant);
    out.resize(out.size() - 1); // the terminating NUL
    return out;
}

std::string base64url_decode(std::string_view text) {
    init();
    // The precise complaint first (libsodium only says "no"), then libsodium decodes and checks
    // the length and the trailing bits.
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (base64url_char(c)) continue;
        if (c == '=') bad_base64(fmt::format("padding '=' at offset {} is not accepted", i));
        if (c >= 0x20 && c < 0x7f) bad_base64(fmt::format("character '{}' at offset {}", c, i));
        bad_base64(fmt::format("byte 0x{:02X} at offset {}", static_cast<unsigned char>(c), i));
    }
    if (text.size() % 4 == 1) bad_base64(fmt::format("length {} is impossible", text.size()));
    std::string out(text.size() * 3 / 4 + 1, '\0');
    std::size_t length = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                          text.size(), nullptr, &length, &end, k_variant) != 0 ||
        end != text.data() + text.size()) {
        bad_base64("non-zero trailing bits");
    }
    out.resize(length);
    return out;
}

std::string random_bytes(std::size_t n) {
    init();
    std::string out(n, '\0');
    randombytes_buf(out.data(), n);
    return out;
}

std::string random_token(std::size_t n) {
    return base64url_encode(random_bytes(n));
}

bool equal_constant_time(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace m::core
