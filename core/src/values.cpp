#include "m/core/values.hpp"

#include "m/core/crypto.hpp"
#include "m/core/error.hpp"

#include <cstring>
#include <fmt/format.h>
#include <sodium.h>
#include <vector>

#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>

namespace m::core {

namespace {

[[noreturn]] void bad(const Field& f, const std::string& expected, const Json& got) {
    std::string shown = got.dump(-1, ' ', false, Json::error_handler_t::replace);
    if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
    throw Error(ErrorKind::validation,
                fmt::format("field '{}': expected {}, got {}", f.name, expected, shown));
}

bool parse_int(const std::string& s, long long& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

bool parse_double(const std::string& s, double& out) {
    if (s.empty()) return false;
    try {
        std::size_t used = 0;
        out = std::stod(s, &used);
        return used == s.size() && std::isfinite(out);
    } catch (const std::exception&) {
        return false;
    }
}

// Days since 1970-01-01 for a civil date, and back, with C++20's calendar types.
long long days_from_civil(long long y, unsigned m, unsigned d) {
    using namespace std::chrono;
    return sys_days{year{static_cast<int>(y)} / month{m} / day{d}}.time_since_epoch().count();
}

void civil_from_days(long long z, int& y, unsigned& m, unsigned& d) {
    using namespace std::chrono;
    const year_month_day ymd{sys_days{days{z}}};
    y = static_cast<int>(ymd.year());
    m = static_cast<unsigned>(ymd.month());
    d = static_cast<unsigned>(ymd.day());
}

bool valid_date(int y, unsigned m, unsigned d) {
    using namespace std::chrono;
    return (year{y} / month{m} / day{d}).ok();
}

// Hand-written parsers rather than std::regex: these run for every date/time value read from or
// written to the database (a std::regex_match per value was a fifth of a list request's CPU).

/// The `n` digits at `pos` of `s` as a number, or -1.
int digits_at(std::string_view s, std::size_t pos, std::size_t n) {
    if (pos + n > s.size()) return -1;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/// "YYYY-MM-DD" -> its parts; false when malformed or not a calendar date.
bool parse_date(std::string_view s, int& y, unsigned& mo, unsigned& d) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
    int yy = digits_at(s, 0, 4), mm = digits_at(s, 5, 2), dd = digits_at(s, 8, 2);
    if (yy < 0 || mm < 0 || dd < 0) return false;
    y = yy;
    mo = static_cast<unsigned>(mm);
    d = static_cast<unsigned>(dd);
    return valid_date(y, mo, d);
}

std::optional<std::string> canonical_date(const std::string& s) {
    int y = 0;
    unsigned mo = 0, d = 0;
    if (!parse_date(s, y, mo, d)) return std::nullopt;
    return s;
}

/// "HH:MM[:SS[.f{1,9}]]" -> seconds of day and microseconds; false when malformed.
bool parse_clock(std::string_view s, int& secs, int& micros) {
    if (s.size() < 5 || s[2] != ':') return false;
    int h = digits_at(s, 0, 2), mi = digits_at(s, 3, 2), sec = 0;
    if (h < 0 || mi < 0) return false;
    micros = 0;
    if (s.size() > 5) {
        if (s.size() < 8 || s[5] != ':' || (sec = digits_at(s, 6, 2)) < 0) return false;
        if (s.size() > 8) {
            std::size_t n = s.size() - 9;
            if (s[8] != '.' || n < 1 || n > 9) return false;
            for (std::size_t i = 0; i < 6; ++i) {
                int digit = 0;
                if (i < n) {
                    digit = digits_at(s, 9 + i, 1);
                    if (digit < 0) return false;
                }
                micros = micros * 10 + digit;
            }
            for (std::size_t i = 6; i < n; ++i) {
                if (digits_at(s, 9 + i, 1) < 0) return false;
            }
        }
    }
    if (h > 23 || mi > 59 || sec > 59) return false;
    secs = h * 3600 + mi * 60 + sec;
    return true;
}

std::string format_clock(int secs, int micros, bool always_fraction) {
    std::string out = fmt::format("{:02}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60);
    if (always_fraction || micros) out += fmt::format(".{:06}", micros);
    return out;
}

std::optional<std::string> canonical_time(const std::string& s) {
    int secs = 0, micros = 0;
    if (!parse_clock(s, secs, micros)) return std::nullopt;
    return format_clock(secs, micros, false);
}

/// Accepts "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS[.f]]", the same with 'T', and an optional
/// "Z" / "+HH:MM" / "-HH:MM" / "+HHMM" / "+HH" suffix; returns UTC in canonical form.
std::optional<std::string> canonical_datetime(const std::string& text) {
    std::string_view s = text;
    int y = 0;
    unsigned mo = 0, d = 0;
    if (s.size() < 10 || !parse_date(s.substr(0, 10), y, mo, d)) return std::nullopt;
    int secs = 0, micros = 0;
    std::string_view offset;
    if (s.size() > 10) {
        if (s[10] != ' ' && s[10] != 'T') {
            offset = s.substr(10); // "2026-01-01Z" / "2026-01-01+02:00"
        } else {
            std::size_t end = 11;
            while (end < s.size() &&
                   ((s[end] >= '0' && s[end] <= '9') || s[end] == ':' || s[end] == '.')) {
                ++end;
            }
            if (!parse_clock(s.substr(11, end - 11), secs, micros)) return std::nullopt;
            offset = s.substr(end);
        }
    }
    long long total = days_from_civil(y, mo, d) * 86400 + secs;
    if (!offset.empty() && offset != "Z") {
        if (offset[0] != '+' && offset[0] != '-') return std::nullopt;
        int oh = digits_at(offset, 1, 2), om = 0;
        if (oh < 0) return std::nullopt;
        if (offset.size() == 6 && offset[3] == ':') {
            om = digits_at(offset, 4, 2);
        } else if (offset.size() == 5) {
            om = digits_at(offset, 3, 2);
        } else if (offset.size() != 3) {
            return std::nullopt;
        }
        if (om < 0 || oh > 23 || om > 59) return std::nullopt;
        total -= (offset[0] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    }
    long long day = total >= 0 ? total / 86400 : (total - 86399) / 86400;
    int sod = static_cast<int>(total - day * 86400);
    civil_from_days(day, y, mo, d);
    return fmt::format("{:04}-{:02}-{:02} {}", y, mo, d, format_clock(sod, micros, true));
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

} // namespace

bool valid_uuid(const std::string& s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < 36; ++i) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
            return false;
        }
    }
    return true;
}

Json coerce_value(const Field& f, const Json& v) {
    if (v.is_null()) return v;
    switch (f.type) {
    case FieldType::data:
    case FieldType::text:
    case FieldType::link:
    case FieldType::password:
        if (!v.is_string()) bad(f, "a string", v);
        return v;
    case FieldType::select: {
        if (!v.is_string()) bad(f, "a string", v);
        const auto& s = v.get_ref<const std::string&>();
        if (s.empty()) return v;
        for (const auto& opt : f.select_options) {
            if (opt == s) return v;
        }
        std::string opts;
        for (const auto& o : f.select_options) opts += (opts.empty() ? "" : ", ") + o;
        throw Error(ErrorKind::validation,
                    fmt::format("field '{}': '{}' is not one of {}", f.name, s, opts));
    }
    case FieldType::int_: {
        if (v.is_number_integer()) return v;
        if (v.is_number_float()) {
            double d = v.get<double>();
            if (std::trunc(d) == d && std::fabs(d) < 9.0e15) return Json(static_cast<long long>(d));
        }
        long long n = 0;
        if (v.is_string() && parse_int(v.get<std::string>(), n)) return Json(n);
        bad(f, "an integer", v);
    }
    case FieldType::float_:
    case FieldType::decimal: {
        if (v.is_number()) return v;
        double d = 0;
        if (v.is_string() && parse_double(v.get<std::string>(), d)) return Json(d);
        bad(f, "a number", v);
    }
    case FieldType::check:
        if (v.is_boolean()) return v;
        if (v.is_number_integer() && (v.get<long long>() == 0 || v.get<long long>() == 1)) {
            return Json(v.get<long long>() == 1);
        }
        bad(f, "true or false", v);
    case FieldType::date:
        if (v.is_string()) {
            if (auto d = canonical_date(v.get<std::string>())) return Json(*d);
        }
        bad(f, "a date (YYYY-MM-DD)", v);
    case FieldType::datetime:
        if (v.is_string()) {
            if (auto d = canonical_datetime(v.get<std::string>())) return Json(*d);
        }
        bad(f, "a datetime (YYYY-MM-DD HH:MM:SS, UTC unless an offset is given)", v);
    case FieldType::time:
        if (v.is_string()) {
            if (auto t = canonical_time(v.get<std::string>())) return Json(*t);
        }
        bad(f, "a time (HH:MM:SS)", v);
    case FieldType::uuid:
        if (v.is_string() && valid_uuid(v.get<std::string>()))
            return Json(lower(v.get<std::string>()));
        bad(f, "a UUID", v);
    case FieldType::json:
        return v;
    case FieldType::table:
        if (!v.is_array()) bad(f, "a list of rows", v);
        return v;
    }
    bad(f, "a value", v);
}

SqlValue to_sql(const Field& f, const Json& v) {
    if (v.is_null()) return std::monostate{};
    switch (f.type) {
    case FieldType::int_:
        return static_cast<std::int64_t>(v.get<long long>());
    case FieldType::float_:
        return v.get<double>();
    case FieldType::decimal:
        // Text keeps NUMERIC exact on PostgreSQL; SQLite converts it by column affinity.
        return v.dump();
    case FieldType::check:
        return v.get<bool>();
    case FieldType::json:
        return v.dump(-1, ' ', false, Json::error_handler_t::replace);
    default:
        if (v.is_string()) return v.get<std::string>();
        return v.dump();
    }
}

Json from_sql(const Field& f, const std::optional<std::string>& text) {
    if (!text) return nullptr;
    const std::string& s = *text;
    switch (f.type) {
    case FieldType::int_: {
        long long n = 0;
        if (parse_int(s, n)) return n;
        double d = 0;
        if (parse_double(s, d)) return static_cast<long long>(d);
        return s;
    }
    case FieldType::float_:
    case FieldType::decimal: {
        long long n = 0;
        if (f.type == FieldType::decimal && parse_int(s, n)) return n;
        double d = 0;
        if (parse_double(s, d)) return d;
        return s;
    }
    case FieldType::check:
        return s == "1" || s == "t" || s == "true";
    case FieldType::json: {
        Json j = Json::parse(s, nullptr, false);
        return j.is_discarded() ? Json(s) : j;
    }
    case FieldType::datetime:
        if (auto d = canonical_datetime(s)) return *d;
        return s;
    case FieldType::time:
        if (auto t = canonical_time(s)) return *t;
        return s;
    default:
        return s;
    }
}

std::string now_timestamp() {
    using namespace std::chrono;
    auto now = system_clock::now();
    auto us = duration_cast<microseconds>(now.time_since_epoch()).count();
    long long secs = us / 1000000;
    int micros = static_cast<int>(us % 1000000);
    long long day = secs / 86400;
    int y = 0;
    unsigned mo = 0, d = 0;
    civil_from_days(day, y, mo, d);
    return fmt::format("{:04}-{:02}-{:02} {}", y, mo, d,
                       format_clock(static_cast<int>(secs - day * 86400), micros, true));
}

std::string api_key_secret_hash(std::string_view secret) {
    return sha256_hex(secret);
}

ApiKeyParts new_api_key() {
    ApiKeyParts parts;
    parts.key_id = "mk_" + random_token(9);
    std::string secret = random_token(32);
    parts.secret_hash = api_key_secret_hash(secret);
    parts.key = parts.key_id + "." + secret;
    return parts;
}

std::string new_uuid() {
    const std::string r = random_bytes(16);
    unsigned char b[16];
    std::copy(r.begin(), r.end(), b);
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
    return fmt::format("{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-"
                       "{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                       b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                       b[12], b[13], b[14], b[15]);
}

std::string hash_password(const std::string& clear) {
    if (sodium_init() < 0) throw Error(ErrorKind::internal, "libsodium failed to initialise");
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(out, clear.c_str(), clear.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        throw Error(ErrorKind::internal, "out of memory while hashing a password");
    }
    return out;
}

bool verify_password(const std::string& clear, const std::string& hash) {
    if (sodium_init() < 0) throw Error(ErrorKind::internal, "libsodium failed to initialise");
    if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
    return crypto_pwhash_str_verify(hash.c_str(), clear.c_str(), clear.size()) == 0;
}

Json to_ordered(const nlohmann::json& value) {
    return Json::parse(value.dump());
}

std::optional<std::int64_t> parse_integer(std::string_view text) noexcept {
    const char* first = text.data();
    const char* last = first + text.size();
    if (first != last && *first == '+') ++first;
    if (first == last || (*first == '-' && first + 1 == last)) return std::nullopt;
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(first, last, n);
    if (ec != std::errc() || end != last) return std::nullopt;
    return n;
}

} // namespace m::core
