// Entry points of m-postgres.so (see module.hpp).
#include "m/adapters/postgres/module.hpp"

#include "m/adapters/postgres/postgres_database.hpp"
#include "m/core/error.hpp"

#include <cstring>

namespace {

void copy_message(const char* text, char* out, std::size_t size) {
    if (size == 0) return;
    std::strncpy(out, text, size - 1);
    out[size - 1] = '\0';
}

} // namespace

extern "C" {

__attribute__((visibility("default"))) const char* m_postgres_module_version() {
    return M_VERSION;
}

__attribute__((visibility("default"))) int
m_postgres_create_database(const char* url, std::size_t pool_size, m::core::Database** out,
                           char* message, std::size_t message_size) {
    try {
        *out = new m::adapters::postgres::PostgresDatabase(url, pool_size);
        return 0;
    } catch (const m::core::Error& e) {
        copy_message(e.what(), message, message_size);
        return 1 + static_cast<int>(e.kind());
    } catch (const std::exception& e) {
        copy_message(e.what(), message, message_size);
        return 1 + static_cast<int>(m::core::ErrorKind::internal);
    }
}
}
