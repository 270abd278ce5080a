// libFuzzer target: a request body turned into field values, as the document service does —
// untrusted JSON parsed, then each member coerced by its field's type and written back as SQL
// text and read again. Only Error{validation} may come out; what coerces must survive the round
// trip through SQL text (scripts/fuzz.sh).
#include "fuzz_doctype.hpp"

#include "m/core/error.hpp"
#include "m/core/json_input.hpp"
#include "m/core/values.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    m::core::Json body;
    try {
        body = m::core::parse_json_input(text, "body");
    } catch (const m::core::Error& e) {
        if (e.kind() != m::core::ErrorKind::validation) std::abort();
        return 0;
    }
    if (!body.is_object()) return 0;
    for (const auto& f : fuzz_doctype().fields) {
        auto it = body.find(f.name);
        if (it == body.end() || f.type == m::core::FieldType::password) continue;
        try {
            const auto canonical = m::core::coerce_value(f, *it);
            (void)m::core::to_sql(f, canonical);
        } catch (const m::core::Error& e) {
            if (e.kind() != m::core::ErrorKind::validation) std::abort();
        }
    }
    return 0;
}
