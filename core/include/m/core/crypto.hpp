// The cryptographic primitives m uses, on libsodium (docs/DECISIONS.md, "Cryptography";
// docs/reference/dependencies.md §9): SHA-256, HMAC-SHA256, base64url, random bytes and tokens,
// constant-time comparison. One unit, so no other file calls libsodium or OpenSSL for these, and
// none writes them by hand.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace m::core {

inline constexpr std::size_t k_sha256_bytes = 32;
using Sha256 = std::array<unsigned char, k_sha256_bytes>;

/// SHA-256 of `data`, as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

/// HMAC-SHA256 of `data` under `key` (any length; RFC 2104).
Sha256 hmac_sha256(std::string_view key, std::string_view data);

/// base64url without padding (RFC 4648 §5).
std::string base64url_encode(std::string_view bytes);

/// The inverse of base64url_encode, strict: no padding, no whitespace, no other alphabet, no
/// impossible length, no non-zero trailing bits (so one text decodes to one byte string, and a
/// signed token cannot be altered without touching its signature). Throws Error{validation}
/// "invalid base64url: character '+' at offset 3" and the like.
std::string base64url_decode(std::string_view text);

/// `n` random bytes from the system's CSPRNG.
std::string random_bytes(std::size_t n);

/// `n` random bytes as base64url: secret keys, API key ids and secrets.
std::string random_token(std::size_t n);

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
bool equal_constant_time(std::string_view a, std::string_view b) noexcept;

} // namespace m::core
