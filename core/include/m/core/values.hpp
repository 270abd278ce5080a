// Field values: checking input against a field's type, and moving values to and from SQL.
//
// A document is a JSON object (insertion-ordered). Each field type has one canonical JSON form
// (datetime: "YYYY-MM-DD HH:MM:SS.ffffff" UTC, check: true/false, ...), which both databases
// store so that SQLite's text comparison orders timestamps correctly.
#pragma once

#include "m/core/database.hpp"
#include "m/core/doctype.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace m::core {

/// A document or any value in one: keys keep their order.
using Json = nlohmann::ordered_json;

/// Checks `value` against the field's type and returns its canonical form. null stays null.
/// Throws Error{validation} "field 'x': expected an integer, got \"abc\"".
Json coerce_value(const Field& field, const Json& value);

/// The canonical value as a bound SQL parameter.
SqlValue to_sql(const Field& field, const Json& canonical);

/// A column's text (as the adapters return it) back to the canonical JSON value.
Json from_sql(const Field& field, const std::optional<std::string>& text);

/// Current UTC time in canonical datetime form.
std::string now_timestamp();

/// A random (version 4) UUID, lowercase.
std::string new_uuid();

/// A new API key (`m user apikey`): `key` = `<key_id>.<secret>` is shown once; only `key_id`
/// and `secret_hash` are stored.
struct ApiKeyParts {
    std::string key;
    std::string key_id;
    std::string secret_hash;
};
ApiKeyParts new_api_key();

/// Lower-case hex SHA-256 of an API key's secret, as stored in ApiKey.secret_hash.
std::string api_key_secret_hash(std::string_view secret);

/// Whether `s` is a UUID in 8-4-4-4-12 hex form (any case).
bool valid_uuid(const std::string& s);

/// Argon2id hash of a password field's value (never stored in clear).
std::string hash_password(const std::string& clear);

/// Whether `clear` matches an Argon2id hash made by hash_password (constant time). About 0.1 s of
/// CPU and 64 MB: callers on a server cap how many run at once.
bool verify_password(const std::string& clear, const std::string& hash);

/// Converts between the two JSON flavours (metadata uses nlohmann::json).
Json to_ordered(const nlohmann::json& value);

/// A whole string as a decimal integer (an optional sign, digits, nothing else), or nullopt.
/// The one parser of integers from text: query parameters, settings, result sets.
std::optional<std::int64_t> parse_integer(std::string_view text) noexcept;

} // namespace m::core
