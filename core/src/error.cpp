#include "m/core/error.hpp"

namespace m::core {

const char* to_string(ErrorKind kind) noexcept {
    switch (kind) {
    case ErrorKind::validation:
        return "validation";
    case ErrorKind::not_found:
        return "not_found";
    case ErrorKind::permission:
        return "permission";
    case ErrorKind::conflict:
        return "conflict";
    case ErrorKind::unavailable:
        return "unavailable";
    case ErrorKind::timeout:
        return "timeout";
    case ErrorKind::cancelled:
        return "cancelled";
    case ErrorKind::internal:
        return "internal";
    case ErrorKind::unauthenticated:
        return "unauthenticated";
    case ErrorKind::too_large:
        return "too_large";
    case ErrorKind::rate_limited:
        return "rate_limited";
    }
    return "internal";
}

} // namespace m::core
