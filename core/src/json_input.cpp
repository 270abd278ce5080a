// Parsing untrusted JSON (json_input.hpp).
#include "m/core/json_input.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>

namespace m::core {

std::size_t json_nesting(std::string_view text, std::size_t limit) {
    std::size_t depth = 0;
    std::size_t deepest = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > deepest) deepest = depth;
            if (deepest > limit) return deepest;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

bool valid_utf8(std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        const unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        std::size_t n = 0;
        unsigned long cp = 0;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) <= n) return false;
        for (std::size_t i = 1; i <= n; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        p += n + 1;
    }
    return true;
}

void check_json_nesting(std::string_view text, std::string_view what) {
    if (json_nesting(text) > k_max_json_depth) {
        throw Error(ErrorKind::validation,
                    fmt::format("{}: nested deeper than {} levels", what, k_max_json_depth),
                    Json{{"max_depth", k_max_json_depth}});
    }
}

Json parse_json_input(std::string_view text, std::string_view what) {
    check_json_nesting(text, what);
    try {
        return Json::parse(text);
    } catch (const Json::parse_error& e) {
        // nlohmann's lexer refuses invalid UTF-8 inside strings as a parse error too.
        throw Error(ErrorKind::validation,
                    fmt::format("{}: malformed JSON at byte {}", what, e.byte),
                    Json{{"byte", e.byte}});
    } catch (const Json::exception& e) {
        // out_of_range: a number too large for a double (1e99999); found by the fuzzer.
        throw Error(ErrorKind::validation, fmt::format("{}: unusable JSON: {}", what, e.what()));
    }
}

} // namespace m::core
