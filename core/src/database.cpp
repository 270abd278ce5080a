#include "m/core/database.hpp"

#include "m/core/error.hpp"

namespace m::core {

std::string quote_ident(std::string_view ident) {
    if (ident.empty()) throw Error(ErrorKind::internal, "empty SQL identifier");
    for (char c : ident) {
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) {
            throw Error(ErrorKind::internal,
                        "refusing SQL identifier '" + std::string(ident) + "'");
        }
    }
    std::string out;
    out.reserve(ident.size() + 2);
    out += '"';
    out += ident;
    out += '"';
    return out;
}

} // namespace m::core
