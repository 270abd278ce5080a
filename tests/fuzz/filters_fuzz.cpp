// libFuzzer target: the filter, order_by and fields parsers of list queries on arbitrary text
// (the `filters`, `order_by` and `fields` query parameters). Only Error{validation} may come out
// (scripts/fuzz.sh).
#include "fuzz_doctype.hpp"

#include "m/core/error.hpp"
#include "m/core/query.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto& dt = fuzz_doctype();
    for (int parser = 0; parser < 3; ++parser) {
        try {
            if (parser == 0) (void)m::core::parse_filters_text(dt, text);
            if (parser == 1) (void)m::core::parse_order_by(dt, text);
            if (parser == 2) (void)m::core::parse_fields(dt, text);
        } catch (const m::core::Error& e) {
            if (e.kind() != m::core::ErrorKind::validation) std::abort();
        }
    }
    return 0;
}
