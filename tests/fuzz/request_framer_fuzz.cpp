// libFuzzer target: the request framer on arbitrary bytes, fed whole and in two pieces. It must
// never crash, never report a request longer than its input, and give the same answer however
// the bytes arrived (scripts/fuzz.sh).
#include "m/server/request_framer.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using m::server::FramerLimits;
using m::server::RequestFramer;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    FramerLimits limits;
    limits.max_body = 4096;
    limits.max_header_bytes = 2048;
    limits.max_request_line = 1024;
    limits.max_headers = 16;
    RequestFramer whole(limits);
    const auto a = whole.feed(bytes);
    RequestFramer split(limits);
    auto b = split.feed(bytes.substr(0, size / 2));
    if (b == RequestFramer::Status::incomplete) b = split.feed(bytes);
    if (a != b) std::abort();
    if (a == RequestFramer::Status::complete &&
        (whole.length() > size || whole.length() != split.length())) {
        std::abort();
    }
    if (a == RequestFramer::Status::error && whole.error_status() != split.error_status()) {
        std::abort();
    }
    return 0;
}
