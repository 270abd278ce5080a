// Cron expressions for the job scheduler: "m h dom mon dow", evaluated in UTC.
//
// The scheduler only ever asks two questions of a schedule: "when is the next tick after now?"
// and "which tick did we last miss?". Both are answered with calendar arithmetic on whole days
// (no time zone database, no std::tm), so results do not depend on the machine's TZ.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace m::core {

/// A parsed 5-field cron expression. Immutable and cheap to copy; safe to share between threads.
///
/// Syntax per field: `*`, numbers, ranges `a-b`, steps `*/n`, `a-b/n` and `a/n` (a to the field's
/// maximum), and comma lists of those. Month names JAN-DEC and weekday names SUN-SAT are accepted
/// in any case. Day-of-week takes 0-7 with both 0 and 7 meaning Sunday; an open end (`*`, `a/n`)
/// stops at 6 so that Sunday is not counted twice. The aliases @hourly, @daily, @midnight,
/// @weekly, @monthly, @yearly and @annually stand for the usual expressions.
///
/// Day-of-month and day-of-week follow Vixie cron: when both are restricted (neither is a bare
/// `*`), a day matches if EITHER matches; otherwise both must. Only a bare `*` counts as
/// unrestricted; `*/2` is a restriction.
///
/// Impossible schedules are refused by parse(): a restricted day-of-month with day-of-week `*`
/// must fall in at least one listed month (`0 0 30 2 *` and `0 0 31 4,6,9,11 *` throw). 29
/// February is accepted. As a consequence every schedule has a tick in any 8-year window (the
/// longest gap between two 29 Februaries), so next_after() always returns.
class CronSchedule {
public:
    /// Parses "m h dom mon dow" (fields separated by spaces or tabs) or an alias. Throws
    /// Error{validation, "cron '<expr>': <reason>"} naming the field and value at fault.
    static CronSchedule parse(std::string_view expression);

    /// The first tick strictly after `t` (seconds since the Unix epoch; ticks are whole minutes,
    /// UTC). A `t` exactly on a tick yields the following tick. Never throws for a parsed
    /// schedule.
    std::int64_t next_after(std::int64_t t) const;

    /// The latest tick at or before `t`, or nullopt if there is none within the 5 years (1830
    /// days) before `t` (only possible for 29 February schedules).
    std::optional<std::int64_t> latest_at_or_before(std::int64_t t) const;

    /// The expression as given to parse().
    const std::string& expression() const noexcept { return m_expression; }

private:
    CronSchedule() = default;

    /// Whether a calendar day is a run day (month and the dom/dow rule; not hours or minutes).
    /// `days` counts from 1970-01-01 and gives the weekday.
    bool day_matches(unsigned month, unsigned day, long long days) const;
    /// Minute of the day of the first tick at or after hour:minute on a run day, or -1.
    int first_time_from(int hour, int minute) const;
    /// Minute of the day of the last tick at or before hour:minute on a run day, or -1.
    int last_time_upto(int hour, int minute) const;

    std::string m_expression;
    // One bit per allowed value: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12,
    // day-of-week 0-6 (Sunday 0; a 7 in the expression sets bit 0).
    std::uint64_t m_minutes = 0;
    std::uint32_t m_hours = 0;
    std::uint32_t m_days_of_month = 0;
    std::uint16_t m_months = 0;
    std::uint8_t m_days_of_week = 0;
    bool m_dom_restricted = false;
    bool m_dow_restricted = false;
};

} // namespace m::core
