// The framework's own versioned migrations (migrations/sql/<dialect>/NNNN_slug.sql), embedded in
// the binary at build time.
#pragma once

#include <string>
#include <vector>

namespace m::migrations {

struct SystemMigration {
    const char* dialect; ///< "sqlite" or "postgres"
    const char* name;    ///< "0001_system"
    const char* sql;
};

/// Every embedded migration, sorted by dialect and name.
const std::vector<SystemMigration>& system_migrations();

} // namespace m::migrations
