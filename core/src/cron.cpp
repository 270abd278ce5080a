#include "m/core/cron.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <chrono>
#include <limits>
#include <span>
#include <vector>

namespace m::core {

namespace {

// The longest gap between two ticks of a schedule that parse() accepts is 8 years (29 February
// across a non-leap century year such as 2100); searching 9 years forward can never come up empty.
constexpr long long k_search_days = 9 * 366;
// How far latest_at_or_before() looks back (the contract in the header says 5 years).
constexpr long long k_lookback_days = 5 * 366;

constexpr long long k_minutes_per_day = 24 * 60;

struct FieldSpec {
    const char* name; // as used in messages: "minute 60 is out of range 0-59"
    int min;
    int max;
    int open_max; // where `*` and `a/n` stop (6 for day-of-week: 7 is Sunday again)
    std::span<const std::string_view> names; // empty where the field has no names
    int first_name_value;                    // JAN is 1, SUN is 0
    const char* names_hint;
};

constexpr std::array<std::string_view, 12> k_month_names = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> k_weekday_names = {"SUN", "MON", "TUE", "WED",
                                                             "THU", "FRI", "SAT"};

const FieldSpec k_minute{"minute", 0, 59, 59, {}, 0, nullptr};
const FieldSpec k_hour{"hour", 0, 23, 23, {}, 0, nullptr};
const FieldSpec k_day_of_month{"day-of-month", 1, 31, 31, {}, 0, nullptr};
const FieldSpec k_month{"month", 1, 12, 12, k_month_names, 1, "JAN-DEC"};
const FieldSpec k_day_of_week{"day-of-week", 0, 7, 6, k_weekday_names, 0, "SUN-SAT"};

struct Alias {
    std::string_view name;
    std::string_view expansion;
};

constexpr std::array<Alias, 7> k_aliases = {{
    {"@hourly", "0 * * * *"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"},
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
}};

char to_upper(char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (to_upper(a[i]) != to_upper(b[i])) return false;
    }
    return true;
}

// Days since 1970-01-01 for a civil date, and back, with C++20's calendar types.
long long days_from_civil(long long y, unsigned m, unsigned d) {
    using namespace std::chrono;
    return sys_days{year{static_cast<int>(y)} / month{m} / day{d}}.time_since_epoch().count();
}

struct CivilDate {
    long long year;
    unsigned month;
    unsigned day;
};

CivilDate civil_from_days(long long z) {
    using namespace std::chrono;
    const year_month_day ymd{sys_days{days{z}}};
    return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
            static_cast<unsigned>(ymd.day())};
}

/// 0 = Sunday.
unsigned weekday_from_days(long long z) {
    using namespace std::chrono;
    return weekday{sys_days{days{z}}}.c_encoding();
}

long long floor_div(long long a, long long b) {
    long long q = a / b;
    if (a % b != 0 && (a < 0) != (b < 0)) --q;
    return q;
}

/// Lowest set bit at or above `from`, or -1.
int lowest_from(std::uint64_t mask, int from) {
    if (from > 63) return -1;
    mask &= ~std::uint64_t{0} << from;
    return mask == 0 ? -1 : std::countr_zero(mask);
}

/// Highest set bit at or below `upto`, or -1.
int highest_upto(std::uint64_t mask, int upto) {
    if (upto < 0) return -1;
    if (upto < 63) mask &= (std::uint64_t{2} << upto) - 1;
    return mask == 0 ? -1 : 63 - std::countl_zero(mask);
}

class Parser {
public:
    explicit Parser(std::string_view expression) : m_expression(expression) {}

    [[noreturn]] void fail(const std::string& reason) const {
        throw Error(ErrorKind::validation, fmt::format("cron '{}': {}", m_expression, reason));
    }

    /// The bits a field sets; values are checked against spec.min..spec.max.
    std::uint64_t field(const FieldSpec& spec, std::string_view text) const {
        std::uint64_t bits = 0;
        std::size_t start = 0;
        while (true) {
            const std::size_t comma = text.find(',', start);
            const std::string_view item =
                text.substr(start, comma == std::string_view::npos ? comma : comma - start);
            if (item.empty()) fail(fmt::format("{}: empty item in list '{}'", spec.name, text));
            bits |= list_item(spec, item);
            if (comma == std::string_view::npos) break;
            start = comma + 1;
        }
        return bits;
    }

private:
    /// One of `*`, `a`, `a-b`, each optionally followed by `/n`.
    std::uint64_t list_item(const FieldSpec& spec, std::string_view item) const {
        const std::size_t slash = item.find('/');
        const std::string_view base = item.substr(0, slash);
        int step = 1;
        if (slash != std::string_view::npos) {
            const std::string_view step_text = item.substr(slash + 1);
            if (step_text.empty())
                fail(fmt::format("{}: missing step after '/' in '{}'", spec.name, item));
            const int span = spec.open_max - spec.min + 1;
            long long n = 0;
            if (!number(step_text, n))
                fail(fmt::format("{}: step '{}' is not a number", spec.name, step_text));
            if (n < 1 || n > span)
                fail(fmt::format("{} step {} is out of range 1-{}", spec.name, step_text, span));
            step = static_cast<int>(n);
        }

        int lo = spec.min;
        int hi = spec.open_max;
        if (base == "*") {
            // lo and hi already span the field
        } else if (const std::size_t dash = base.find('-'); dash != std::string_view::npos) {
            lo = value(spec, base.substr(0, dash), item);
            hi = value(spec, base.substr(dash + 1), item);
            if (hi < lo)
                fail(fmt::format("{}: range {} is reversed (write the smaller value first)",
                                 spec.name, base));
        } else {
            lo = value(spec, base, item);
            // `a/n` runs from a to the end of the field, as in Vixie cron; a bare `a` is itself.
            hi = slash == std::string_view::npos ? lo : std::max(lo, spec.open_max);
        }

        std::uint64_t bits = 0;
        for (int v = lo; v <= hi; v += step) bits |= std::uint64_t{1} << v;
        return bits;
    }

    /// A number or, where the field has them, a three-letter name.
    int value(const FieldSpec& spec, std::string_view text, std::string_view item) const {
        if (text.empty()) fail(fmt::format("{}: missing value in '{}'", spec.name, item));
        if (text == "*")
            fail(fmt::format("{}: '*' cannot be part of a range in '{}'", spec.name, item));
        long long n = 0;
        if (number(text, n)) {
            if (n < spec.min || n > spec.max)
                fail(fmt::format("{} {} is out of range {}-{}", spec.name, text, spec.min,
                                 spec.max));
            return static_cast<int>(n);
        }
        if (!spec.names.empty()) {
            for (std::size_t i = 0; i < spec.names.size(); ++i) {
                if (equals_ignore_case(text, spec.names[i]))
                    return spec.first_name_value + static_cast<int>(i);
            }
            fail(fmt::format("{}: '{}' is not a number or a name {}", spec.name, text,
                             spec.names_hint));
        }
        fail(fmt::format("{}: '{}' is not a number", spec.name, text));
    }

    /// Digits only; a value too large for long long still counts as a number (out of range).
    static bool number(std::string_view text, long long& out) {
        if (text.empty()) return false;
        for (char c : text) {
            if (c < '0' || c > '9') return false;
        }
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
        if (ec == std::errc::result_out_of_range) out = std::numeric_limits<long long>::max();
        return true;
    }

    std::string_view m_expression;
};

std::vector<std::string_view> split_fields(std::string_view text) {
    std::vector<std::string_view> fields;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
        const std::size_t start = i;
        while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
        if (i > start) fields.push_back(text.substr(start, i - start));
    }
    return fields;
}

unsigned days_in_month(long long y, unsigned m) {
    using namespace std::chrono;
    return static_cast<unsigned>((year{static_cast<int>(y)} / month{m} / last).day());
}

/// Bits 1..n of a day-of-month mask.
std::uint32_t first_days(unsigned n) {
    return ((std::uint32_t{1} << n) - 1) << 1;
}

} // namespace

CronSchedule CronSchedule::parse(std::string_view expression) {
    const Parser parser(expression);
    std::vector<std::string_view> fields = split_fields(expression);

    if (!fields.empty() && fields[0].front() == '@') {
        if (fields.size() != 1)
            parser.fail(fmt::format("alias '{}' must stand alone, got {} fields", fields[0],
                                    fields.size()));
        const Alias* found = nullptr;
        for (const Alias& alias : k_aliases) {
            if (equals_ignore_case(fields[0], alias.name)) found = &alias;
        }
        if (found == nullptr)
            parser.fail(fmt::format("unknown alias '{}' (expected @hourly, @daily, @midnight, "
                                    "@weekly, @monthly, @yearly or @annually)",
                                    fields[0]));
        CronSchedule schedule = parse(found->expansion);
        schedule.m_expression = std::string(expression);
        return schedule;
    }
    if (fields.size() != 5) parser.fail(fmt::format("expected 5 fields, got {}", fields.size()));

    CronSchedule s;
    s.m_expression = std::string(expression);
    s.m_minutes = parser.field(k_minute, fields[0]);
    s.m_hours = static_cast<std::uint32_t>(parser.field(k_hour, fields[1]));
    s.m_days_of_month = static_cast<std::uint32_t>(parser.field(k_day_of_month, fields[2]));
    s.m_months = static_cast<std::uint16_t>(parser.field(k_month, fields[3]));
    std::uint64_t dow = parser.field(k_day_of_week, fields[4]);
    if (dow & (std::uint64_t{1} << 7)) dow = (dow | 1) & 0x7f; // 7 is Sunday too
    s.m_days_of_week = static_cast<std::uint8_t>(dow);
    s.m_dom_restricted = fields[2] != "*";
    s.m_dow_restricted = fields[4] != "*";

    // With day-of-week `*` the day-of-month must occur in some listed month, or the schedule
    // never fires; refusing it here keeps next_after() total. February counts as 29 days.
    if (s.m_dom_restricted && !s.m_dow_restricted) {
        bool possible = false;
        for (unsigned month = 1; month <= 12; ++month) {
            if ((s.m_months >> month & 1) &&
                (s.m_days_of_month & first_days(days_in_month(2000, month))))
                possible = true;
        }
        if (!possible)
            parser.fail(fmt::format("never matches: day-of-month '{}' does not occur in month '{}'",
                                    fields[2], fields[3]));
    }
    return s;
}

bool CronSchedule::day_matches(unsigned month, unsigned day, long long days) const {
    if (!(m_months >> month & 1)) return false;
    const bool dom = m_days_of_month >> day & 1;
    const bool dow = m_days_of_week >> weekday_from_days(days) & 1;
    // An unrestricted field has every bit set, so "both" is right whenever either is `*`.
    return m_dom_restricted && m_dow_restricted ? dom || dow : dom && dow;
}

int CronSchedule::first_time_from(int hour, int minute) const {
    if (m_hours >> hour & 1) {
        if (const int m = lowest_from(m_minutes, minute); m >= 0) return hour * 60 + m;
    }
    if (const int h = lowest_from(m_hours, hour + 1); h >= 0)
        return h * 60 + lowest_from(m_minutes, 0);
    return -1;
}

int CronSchedule::last_time_upto(int hour, int minute) const {
    if (m_hours >> hour & 1) {
        if (const int m = highest_upto(m_minutes, minute); m >= 0) return hour * 60 + m;
    }
    if (const int h = highest_upto(m_hours, hour - 1); h >= 0)
        return h * 60 + highest_upto(m_minutes, 59);
    return -1;
}

std::int64_t CronSchedule::next_after(std::int64_t t) const {
    const long long first_minute = floor_div(t, 60) + 1; // strictly after t
    long long days = floor_div(first_minute, k_minutes_per_day);
    const long long last_day = days + k_search_days;
    const auto minute_of_day = static_cast<int>(first_minute - days * k_minutes_per_day);
    int hour = minute_of_day / 60;
    int minute = minute_of_day % 60;

    while (days <= last_day) {
        const CivilDate date = civil_from_days(days);
        if (!(m_months >> date.month & 1)) {
            // Skip the rest of a month that is not listed in one step.
            days = date.month == 12 ? days_from_civil(date.year + 1, 1, 1)
                                    : days_from_civil(date.year, date.month + 1, 1);
        } else {
            if (day_matches(date.month, date.day, days)) {
                if (const int m = first_time_from(hour, minute); m >= 0)
                    return (days * k_minutes_per_day + m) * 60;
            }
            ++days;
        }
        hour = 0;
        minute = 0;
    }
    // Unreachable for a schedule that parse() accepted (see k_search_days).
    throw Error(ErrorKind::internal,
                fmt::format("cron '{}': no tick within 9 years after {}", m_expression, t));
}

std::optional<std::int64_t> CronSchedule::latest_at_or_before(std::int64_t t) const {
    const long long last_minute = floor_div(t, 60);
    long long days = floor_div(last_minute, k_minutes_per_day);
    const long long first_day = days - k_lookback_days;
    const auto minute_of_day = static_cast<int>(last_minute - days * k_minutes_per_day);
    int hour = minute_of_day / 60;
    int minute = minute_of_day % 60;

    while (days >= first_day) {
        const CivilDate date = civil_from_days(days);
        if (!(m_months >> date.month & 1)) {
            days = days_from_civil(date.year, date.month, 1) - 1; // last day of the month before
        } else {
            if (day_matches(date.month, date.day, days)) {
                if (const int m = last_time_upto(hour, minute); m >= 0)
                    return (days * k_minutes_per_day + m) * 60;
            }
            --days;
        }
        hour = 23;
        minute = 59;
    }
    return std::nullopt;
}

} // namespace m::core
