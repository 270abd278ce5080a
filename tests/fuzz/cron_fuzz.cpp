// libFuzzer target: cron expressions. parse() refuses with Error{validation}; a parsed schedule
// always finds a next tick after any time without throwing (scripts/fuzz.sh).
#include "m/core/cron.hpp"
#include "m/core/error.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const auto schedule = m::core::CronSchedule::parse(text);
        (void)schedule.next_after(1700000000);
        (void)schedule.latest_at_or_before(1700000000);
    } catch (const m::core::Error& e) {
        if (e.kind() != m::core::ErrorKind::validation) std::abort();
    }
    return 0;
}
