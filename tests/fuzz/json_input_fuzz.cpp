// libFuzzer target: untrusted JSON (bodies, filters, kwargs) through the one parser that takes it.
// Anything but a parsed value or Error{validation} is a bug (scripts/fuzz.sh).
#include "m/core/error.hpp"
#include "m/core/json_input.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)m::core::valid_utf8(text);
    try {
        const auto value = m::core::parse_json_input(text, "body");
        // What was accepted is within the nesting limit and can be written back.
        (void)value.dump(-1, ' ', false, m::core::Json::error_handler_t::replace);
    } catch (const m::core::Error& e) {
        if (e.kind() != m::core::ErrorKind::validation) std::abort();
    }
    return 0;
}
