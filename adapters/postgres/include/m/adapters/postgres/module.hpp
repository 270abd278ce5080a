// The C entry point of the loadable PostgreSQL module (m-postgres.so).
//
// Why a module: libpq brings about twenty shared libraries (Kerberos, LDAP, GnuTLS, ...) linked
// with BIND_NOW; linked into `m`, every command, `m --version` included, paid for resolving them.
// The composition root dlopen()s the module only when DATABASE_URL is a postgres:// URL. No
// exception crosses this boundary: failures come back as an ErrorKind and a message.
#pragma once

#include <cstddef>

namespace m::core {
class Database;
}

extern "C" {

/// Version of m the module was built from; the loader refuses a module of another version.
const char* m_postgres_module_version();

/// Creates an unstarted PostgresDatabase for `url` into `*out` (owned by the caller, deleted with
/// `delete`). Returns 0 on success, otherwise 1 + the core::ErrorKind value, with a message in
/// `message` (NUL-terminated, truncated to `message_size`).
int m_postgres_create_database(const char* url, std::size_t pool_size, m::core::Database** out,
                               char* message, std::size_t message_size);
}
