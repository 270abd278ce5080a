// libFuzzer target: the JWT parser on arbitrary tokens. Only Error{unauthenticated} may come out
// of a bad token (scripts/fuzz.sh).
#include "m/core/error.hpp"
#include "m/server/jwt.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view token(reinterpret_cast<const char*>(data), size);
    try {
        (void)m::server::jwt_verify(token, "fuzz-secret-0123456789abcdef", 1700000000);
    } catch (const m::core::Error& e) {
        if (e.kind() != m::core::ErrorKind::unauthenticated) std::abort();
    }
    return 0;
}
