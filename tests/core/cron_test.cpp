#include "m/core/cron.hpp"
#include "m/core/error.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using m::core::CronSchedule;

namespace {

// Epoch seconds of a UTC civil time; written out here (not borrowed from cron.cpp) so that the
// tests do not share a bug with the code under test. Anchored below against known values.
std::int64_t at(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
    y -= mo <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const std::int64_t days = std::int64_t{era} * 146097 + doe - 719468;
    return days * 86400 + h * 3600 + mi * 60 + s;
}

std::int64_t next(std::string_view expression, std::int64_t t) {
    return CronSchedule::parse(expression).next_after(t);
}

/// The message of the validation error parse() throws, or "" when it does not throw.
std::string error_of(std::string_view expression) {
    try {
        CronSchedule::parse(expression);
    } catch (const m::core::Error& e) {
        CHECK(e.kind() == m::core::ErrorKind::validation);
        return e.what();
    }
    return "";
}

/// The first `count` ticks after `t`.
std::vector<std::int64_t> ticks(std::string_view expression, std::int64_t t, int count) {
    const CronSchedule schedule = CronSchedule::parse(expression);
    std::vector<std::int64_t> out;
    for (int i = 0; i < count; ++i) out.push_back(t = schedule.next_after(t));
    return out;
}

/// 0 = Sunday, computed from epoch seconds (1970-01-01 was a Thursday).
int weekday(std::int64_t t) {
    const std::int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    return static_cast<int>(((days + 4) % 7 + 7) % 7);
}

} // namespace

TEST_CASE("the test helper builds known epoch seconds", "[cron]") {
    CHECK(at(1970, 1, 1) == 0);
    CHECK(at(2026, 11, 27) == 1795737600);
    CHECK(at(2028, 2, 29) == 1835395200);
    CHECK(at(2104, 2, 29) == 4233686400);
    CHECK(at(1969, 12, 31, 23, 59) == -60);
    CHECK(weekday(at(2026, 11, 27)) == 5); // a Friday
}

TEST_CASE("every minute ticks on the next whole minute", "[cron]") {
    const CronSchedule every = CronSchedule::parse("* * * * *");
    CHECK(every.expression() == "* * * * *");
    CHECK(every.next_after(at(2026, 11, 27, 10, 30)) == at(2026, 11, 27, 10, 31));
    CHECK(every.next_after(at(2026, 11, 27, 10, 30, 1)) == at(2026, 11, 27, 10, 31));
    CHECK(every.next_after(at(2026, 11, 27, 10, 30, 59)) == at(2026, 11, 27, 10, 31));
    CHECK(every.next_after(at(2026, 11, 27, 23, 59, 30)) == at(2026, 11, 28));
    CHECK(every.next_after(-1) == 0);
    CHECK(every.next_after(-60) == 0);
    CHECK(every.next_after(-61) == -60);
}

TEST_CASE("fields accept numbers ranges steps and lists", "[cron]") {
    const std::int64_t t = at(2026, 11, 27, 10, 0);
    CHECK(ticks("*/15 * * * *", t, 4) ==
          std::vector<std::int64_t>{at(2026, 11, 27, 10, 15), at(2026, 11, 27, 10, 30),
                                    at(2026, 11, 27, 10, 45), at(2026, 11, 27, 11, 0)});
    CHECK(ticks("5-10/2 * * * *", t, 4) ==
          std::vector<std::int64_t>{at(2026, 11, 27, 10, 5), at(2026, 11, 27, 10, 7),
                                    at(2026, 11, 27, 10, 9), at(2026, 11, 27, 11, 5)});
    // `a/n` runs from a to the end of the field.
    CHECK(ticks("50/4 * * * *", t, 4) ==
          std::vector<std::int64_t>{at(2026, 11, 27, 10, 50), at(2026, 11, 27, 10, 54),
                                    at(2026, 11, 27, 10, 58), at(2026, 11, 27, 11, 50)});
    CHECK(ticks("1,3-4,*/20 * * * *", t, 6) ==
          std::vector<std::int64_t>{at(2026, 11, 27, 10, 1), at(2026, 11, 27, 10, 3),
                                    at(2026, 11, 27, 10, 4), at(2026, 11, 27, 10, 20),
                                    at(2026, 11, 27, 10, 40), at(2026, 11, 27, 11, 0)});
    CHECK(ticks("30 8-18/5 * * *", t, 3) == std::vector<std::int64_t>{at(2026, 11, 27, 13, 30),
                                                                      at(2026, 11, 27, 18, 30),
                                                                      at(2026, 11, 28, 8, 30)});
    CHECK(next("0 0 10-12 * *", t) == at(2026, 12, 10));
    CHECK(next("0 0 1 3,6-7 *", t) == at(2027, 3, 1));
    CHECK(next("0 0 1 */5 *", t) == at(2027, 1, 1)); // months 1, 6, 11
    // Tabs and repeated spaces separate fields too.
    CHECK(next(" 0\t0  1 1 * ", t) == at(2027, 1, 1));
}

TEST_CASE("month and weekday names are case insensitive", "[cron]") {
    const std::int64_t t = at(2026, 11, 27, 10, 0); // a Friday
    CHECK(next("0 0 1 jan *", t) == at(2027, 1, 1));
    CHECK(next("0 0 1 Feb-MAR *", t) == at(2027, 2, 1));
    CHECK(next("0 0 1 dec/2 *", t) == at(2026, 12, 1));
    CHECK(next("0 9 * * mon", t) == at(2026, 11, 30, 9, 0));
    CHECK(ticks("0 9 * * Mon-WED,sat", t, 4) ==
          std::vector<std::int64_t>{at(2026, 11, 28, 9, 0), at(2026, 11, 30, 9, 0),
                                    at(2026, 12, 1, 9, 0), at(2026, 12, 2, 9, 0)});
    CHECK(next("0 0 * * SUN", t) == at(2026, 11, 29));
}

TEST_CASE("day of week 7 is Sunday like 0", "[cron]") {
    const std::int64_t t = at(2026, 11, 27, 10, 0);
    CHECK(next("0 0 * * 7", t) == at(2026, 11, 29));
    CHECK(next("0 0 * * 0", t) == at(2026, 11, 29));
    CHECK(ticks("0 0 * * 6-7", t, 3) ==
          std::vector<std::int64_t>{at(2026, 11, 28), at(2026, 11, 29), at(2026, 12, 5)});
    // An open end stops at Saturday, so `1/2` is Monday, Wednesday and Friday only.
    CHECK(ticks("0 0 * * 1/2", t, 4) == std::vector<std::int64_t>{at(2026, 11, 30), at(2026, 12, 2),
                                                                  at(2026, 12, 4),
                                                                  at(2026, 12, 7)});
}

TEST_CASE("aliases stand for their five field expressions", "[cron]") {
    const std::int64_t t = at(2026, 11, 27, 10, 30);
    CHECK(next("@hourly", t) == at(2026, 11, 27, 11, 0));
    CHECK(next("@daily", t) == at(2026, 11, 28));
    CHECK(next("@midnight", t) == at(2026, 11, 28));
    CHECK(next("@weekly", t) == at(2026, 11, 29)); // Sunday
    CHECK(next("@monthly", t) == at(2026, 12, 1));
    CHECK(next("@yearly", t) == at(2027, 1, 1));
    CHECK(next("@annually", t) == at(2027, 1, 1));
    CHECK(next("@DAILY", t) == at(2026, 11, 28));
    CHECK(CronSchedule::parse("@Weekly").expression() == "@Weekly");
}

TEST_CASE("day of month and day of week match either when both are restricted", "[cron]") {
    const std::int64_t t = at(2026, 11, 27, 10, 0); // a Friday
    // The 1st of the month OR any Monday.
    CHECK(ticks("0 0 1 * MON", t, 4) == std::vector<std::int64_t>{at(2026, 11, 30), at(2026, 12, 1),
                                                                  at(2026, 12, 7),
                                                                  at(2026, 12, 14)});
    // `*/7` is a restriction (only a bare `*` is not): the 13th OR Sundays.
    CHECK(ticks("0 0 13 * */7", t, 4) ==
          std::vector<std::int64_t>{at(2026, 11, 29), at(2026, 12, 6), at(2026, 12, 13),
                                    at(2026, 12, 20)});
    // With OR, a day-of-month that never occurs in the month is fine: Mondays still match.
    CHECK(next("0 0 30 2 MON", at(2027, 1, 31)) == at(2027, 2, 1));
}

TEST_CASE("day of month or day of week alone must match", "[cron]") {
    const std::int64_t t = at(2026, 11, 27, 10, 0);
    CHECK(ticks("0 0 * * MON", t, 2) ==
          std::vector<std::int64_t>{at(2026, 11, 30), at(2026, 12, 7)});
    CHECK(ticks("0 0 1 * *", t, 2) == std::vector<std::int64_t>{at(2026, 12, 1), at(2027, 1, 1)});
    // A month is still required with a weekday: Mondays in February only.
    CHECK(next("0 0 * FEB MON", t) == at(2027, 2, 1));
    CHECK(next("0 0 31 * *", t) == at(2026, 12, 31));
    CHECK(next("0 0 31 * *", at(2026, 12, 31)) == at(2027, 1, 31));
    CHECK(next("0 0 31 * *", at(2027, 1, 31)) == at(2027, 3, 31)); // no 31 February
}

TEST_CASE("next_after crosses minute hour day month and year boundaries", "[cron]") {
    CHECK(next("30 * * * *", at(2026, 11, 27, 10, 30)) == at(2026, 11, 27, 11, 30));
    CHECK(next("30 * * * *", at(2026, 11, 27, 10, 29, 59)) == at(2026, 11, 27, 10, 30));
    CHECK(next("15 10 * * *", at(2026, 11, 27, 10, 15)) == at(2026, 11, 28, 10, 15));
    CHECK(next("59 23 * * *", at(2026, 11, 30, 23, 59)) == at(2026, 12, 1, 23, 59));
    CHECK(next("0 0 * * *", at(2026, 12, 31, 23, 59)) == at(2027, 1, 1));
    CHECK(next("0 12 27 11 *", at(2026, 11, 27, 12, 0)) == at(2027, 11, 27, 12, 0));
    CHECK(next("0 12 27 11 *", at(2026, 11, 27, 11, 59)) == at(2026, 11, 27, 12, 0));
    CHECK(next("5 4 * * *", at(2026, 11, 27, 4, 6)) == at(2026, 11, 28, 4, 5));
    CHECK(next("0 0 1 1 *", at(2026, 1, 1)) == at(2027, 1, 1));
}

TEST_CASE("29 February is found across leap years", "[cron]") {
    CHECK(next("0 0 29 2 *", at(2026, 3, 1)) == at(2028, 2, 29));
    CHECK(next("0 0 29 2 *", at(2028, 2, 28, 23, 59)) == at(2028, 2, 29));
    CHECK(next("0 0 29 2 *", at(2028, 2, 29)) == at(2032, 2, 29));
    // 2100 is not a leap year: the longest gap, 8 years.
    CHECK(next("0 0 29 2 *", at(2096, 3, 1)) == at(2104, 2, 29));
    CHECK(next("0 0 29 2 *", at(1999, 1, 1)) == at(2000, 2, 29)); // 2000 is one
}

TEST_CASE("impossible day and month combinations are refused at parse", "[cron]") {
    CHECK(error_of("0 0 30 2 *") ==
          "cron '0 0 30 2 *': never matches: day-of-month '30' does not occur in month '2'");
    CHECK(error_of("0 0 31 4,6,9,11 *") == "cron '0 0 31 4,6,9,11 *': never matches: "
                                           "day-of-month '31' does not occur in month '4,6,9,11'");
    CHECK(error_of("0 0 30-31 FEB *") ==
          "cron '0 0 30-31 FEB *': never matches: day-of-month '30-31' does not occur in month "
          "'FEB'");
    // One possible pair is enough.
    CHECK(error_of("0 0 31 4,5 *").empty());
    CHECK(next("0 0 31 4,5 *", at(2026, 11, 27)) == at(2027, 5, 31));
    CHECK(error_of("0 0 29 2 *").empty());
    CHECK(error_of("0 0 30 2 MON").empty()); // OR with Mondays
}

TEST_CASE("latest_at_or_before finds the last tick", "[cron]") {
    const CronSchedule quarter = CronSchedule::parse("*/15 * * * *");
    CHECK(quarter.latest_at_or_before(at(2026, 11, 27, 10, 15)) == at(2026, 11, 27, 10, 15));
    CHECK(quarter.latest_at_or_before(at(2026, 11, 27, 10, 15, 59)) == at(2026, 11, 27, 10, 15));
    CHECK(quarter.latest_at_or_before(at(2026, 11, 27, 10, 14, 59)) == at(2026, 11, 27, 10, 0));
    CHECK(quarter.latest_at_or_before(at(2026, 11, 27, 0, 5)) == at(2026, 11, 27, 0, 0));
    CHECK(quarter.latest_at_or_before(at(2027, 1, 1, 0, 0, 1)) == at(2027, 1, 1));
    CHECK(quarter.latest_at_or_before(at(2026, 12, 31, 23, 59)) == at(2026, 12, 31, 23, 45));

    CHECK(CronSchedule::parse("@yearly").latest_at_or_before(at(2026, 11, 27)) == at(2026, 1, 1));
    CHECK(CronSchedule::parse("0 9 * * MON-FRI").latest_at_or_before(at(2026, 11, 30, 8, 0)) ==
          at(2026, 11, 27, 9, 0));
    CHECK(CronSchedule::parse("0 0 1 * MON").latest_at_or_before(at(2026, 11, 29)) ==
          at(2026, 11, 23));
    CHECK(CronSchedule::parse("30 22 31 * *").latest_at_or_before(at(2026, 12, 1)) ==
          at(2026, 10, 31, 22, 30));

    const CronSchedule leap = CronSchedule::parse("0 0 29 2 *");
    CHECK(leap.latest_at_or_before(at(2026, 11, 27)) == at(2024, 2, 29));
    CHECK(leap.latest_at_or_before(at(2028, 2, 29)) == at(2028, 2, 29));
    // Nothing within the 5-year look-back: the tick before 2103 is 2096-02-29.
    CHECK(leap.latest_at_or_before(at(2103, 1, 1)) == std::nullopt);
    CHECK(leap.latest_at_or_before(at(2101, 2, 1)) == at(2096, 2, 29));
}

TEST_CASE("next_after agrees with a minute by minute scan", "[cron]") {
    struct Case {
        const char* expression;
        std::function<bool(std::int64_t)> matches;
    };
    auto minute = [](std::int64_t t) { return static_cast<int>(t / 60 % 60); };
    auto hour = [](std::int64_t t) { return static_cast<int>(t / 3600 % 24); };
    const std::vector<Case> cases = {
        {"*/15 9-17 * * MON-FRI",
         [&](std::int64_t t) {
             return minute(t) % 15 == 0 && hour(t) >= 9 && hour(t) <= 17 && weekday(t) >= 1 &&
                    weekday(t) <= 5;
         }},
        {"7,37 */6 * * SAT,SUN",
         [&](std::int64_t t) {
             return (minute(t) == 7 || minute(t) == 37) && hour(t) % 6 == 0 &&
                    (weekday(t) == 0 || weekday(t) == 6);
         }},
    };
    const std::int64_t from = at(2026, 11, 20);
    const std::int64_t to = at(2026, 12, 10);
    for (const Case& c : cases) {
        INFO(c.expression);
        const CronSchedule schedule = CronSchedule::parse(c.expression);
        std::vector<std::int64_t> scanned;
        for (std::int64_t t = from + 60; t < to; t += 60) {
            if (c.matches(t)) scanned.push_back(t);
        }
        std::vector<std::int64_t> stepped;
        for (std::int64_t t = schedule.next_after(from); t < to; t = schedule.next_after(t)) {
            stepped.push_back(t);
            // Stepping back from just before the next tick lands on this one.
            CHECK(schedule.latest_at_or_before(schedule.next_after(t) - 1) == t);
        }
        CHECK(!scanned.empty());
        CHECK(stepped == scanned);
    }
}

TEST_CASE("malformed expressions are refused with a precise reason", "[cron]") {
    CHECK(error_of("* * *") == "cron '* * *': expected 5 fields, got 3");
    CHECK(error_of("") == "cron '': expected 5 fields, got 0");
    CHECK(error_of("* * * * * *") == "cron '* * * * * *': expected 5 fields, got 6");

    CHECK(error_of("60 * * * *") == "cron '60 * * * *': minute 60 is out of range 0-59");
    CHECK(error_of("* 24 * * *") == "cron '* 24 * * *': hour 24 is out of range 0-23");
    CHECK(error_of("* * 0 * *") == "cron '* * 0 * *': day-of-month 0 is out of range 1-31");
    CHECK(error_of("* * 32 * *") == "cron '* * 32 * *': day-of-month 32 is out of range 1-31");
    CHECK(error_of("* * * 13 *") == "cron '* * * 13 *': month 13 is out of range 1-12");
    CHECK(error_of("* * * 0 *") == "cron '* * * 0 *': month 0 is out of range 1-12");
    CHECK(error_of("* * * * 8") == "cron '* * * * 8': day-of-week 8 is out of range 0-7");
    CHECK(error_of("1-99 * * * *") == "cron '1-99 * * * *': minute 99 is out of range 0-59");
    CHECK(error_of("99999999999999999999 * * * *") ==
          "cron '99999999999999999999 * * * *': minute 99999999999999999999 is out of range 0-59");

    CHECK(error_of("*/0 * * * *") == "cron '*/0 * * * *': minute step 0 is out of range 1-60");
    CHECK(error_of("* */25 * * *") == "cron '* */25 * * *': hour step 25 is out of range 1-24");
    CHECK(error_of("*/ * * * *") == "cron '*/ * * * *': minute: missing step after '/' in '*/'");
    CHECK(error_of("*/x * * * *") == "cron '*/x * * * *': minute: step 'x' is not a number");
    CHECK(error_of("*/2/3 * * * *") == "cron '*/2/3 * * * *': minute: step '2/3' is not a number");

    CHECK(error_of("30-10 * * * *") ==
          "cron '30-10 * * * *': minute: range 30-10 is reversed (write the smaller value first)");
    CHECK(error_of("* * * * FRI-MON") == "cron '* * * * FRI-MON': day-of-week: range FRI-MON is "
                                         "reversed (write the smaller value first)");

    CHECK(error_of("1,,2 * * * *") == "cron '1,,2 * * * *': minute: empty item in list '1,,2'");
    CHECK(error_of(",1 * * * *") == "cron ',1 * * * *': minute: empty item in list ',1'");
    CHECK(error_of("1, * * * *") == "cron '1, * * * *': minute: empty item in list '1,'");

    CHECK(error_of("5x * * * *") == "cron '5x * * * *': minute: '5x' is not a number");
    CHECK(error_of("-5 * * * *") == "cron '-5 * * * *': minute: missing value in '-5'");
    CHECK(error_of("1- * * * *") == "cron '1- * * * *': minute: missing value in '1-'");
    CHECK(error_of("*-5 * * * *") ==
          "cron '*-5 * * * *': minute: '*' cannot be part of a range in '*-5'");
    CHECK(error_of("? * * * *") == "cron '? * * * *': minute: '?' is not a number");
    CHECK(error_of("MON * * * *") == "cron 'MON * * * *': minute: 'MON' is not a number");
    CHECK(error_of("* * * FOO *") ==
          "cron '* * * FOO *': month: 'FOO' is not a number or a name JAN-DEC");
    CHECK(error_of("* * * * MONDAY") ==
          "cron '* * * * MONDAY': day-of-week: 'MONDAY' is not a number or a name SUN-SAT");
    CHECK(error_of("* * * JAN MAR") ==
          "cron '* * * JAN MAR': day-of-week: 'MAR' is not a number or a name SUN-SAT");

    CHECK(error_of("@fortnightly") == "cron '@fortnightly': unknown alias '@fortnightly' (expected "
                                      "@hourly, @daily, @midnight, @weekly, @monthly, @yearly or "
                                      "@annually)");
    CHECK(error_of("@daily 5") == "cron '@daily 5': alias '@daily' must stand alone, got 2 fields");
}
