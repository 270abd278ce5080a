// What the Migrator needs of app migration files (internal to migrations/src): their names, their
// text, and whether a section holds a statement. migration_files.cpp also parses and creates them
// (parse_migration, migration_slug, create_migration of migrator.hpp).
#pragma once

#include <filesystem>
#include <regex>
#include <string>
#include <string_view>

namespace m::migrations::detail {

/// NNNN_slug.sql (both databases) or NNNN_slug.<dialect>.sql: [1] number, [2] slug, [3] dialect.
const std::regex& app_migration_re();

/// The whole file as it is on disk (its checksum is of these bytes).
std::string read_file(const std::filesystem::path& p);

/// Whether a script has a statement, not only comments and whitespace.
bool has_statement(std::string_view sql);

} // namespace m::migrations::detail
