// JSON from outside the process (request bodies, filters, kwargs, job payloads, CLI input): the
// one place that parses it, with the limits of docs/ARCHITECTURE.md ("Limits and the threat
// model"). Nesting is bounded before nlohmann parses anything, so no later recursion over a value
// (copies, error texts, SQL coercion) can run out of stack.
#pragma once

#include "m/core/values.hpp"

#include <cstddef>
#include <string_view>

namespace m::core {

/// Arrays and objects may nest this deep (a document with child rows needs 3).
constexpr std::size_t k_max_json_depth = 64;

/// The deepest nesting of arrays/objects in `text`, scanning no further than one level past
/// `limit` (strings and escapes are skipped; the text need not be valid JSON).
std::size_t json_nesting(std::string_view text, std::size_t limit = k_max_json_depth);

/// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF).
bool valid_utf8(std::string_view text);

/// Throws Error{validation} "<what>: nested deeper than 64 levels" when it is.
void check_json_nesting(std::string_view text, std::string_view what);

/// Parses `text`; `what` names it in errors ("body", "filters", "kwargs"). Throws
/// Error{validation}: "<what>: malformed JSON at byte N", "<what>: nested deeper than 64 levels",
/// "<what>: invalid UTF-8".
Json parse_json_input(std::string_view text, std::string_view what);

} // namespace m::core
