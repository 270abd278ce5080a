// Loading DocType metadata from the installed apps (docs/reference/doctypes.md, "Apps" and
// "`doctype.json`: top-level keys").
//
// Every check on metadata happens here, once, at bootstrap: a file that passes is safe to turn
// into SQL (identifiers are validated, so quoting never needs escaping). Errors name the file, the
// field and the reason, e.g. "apps/billing/doctypes/customer/doctype.json: field 'limit': ...".
#pragma once

#include "m/core/doctype.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace m::core {

/// Parses and checks one DocType definition. `source` is used in messages (a relative path).
/// Throws Error{validation}.
DocType parse_doctype(const nlohmann::json& json, const std::string& source,
                      const std::string& app);

/// Reads, parses and checks one doctype.json. Throws Error{validation} (also for bad JSON, with
/// the byte offset) or Error{not_found}.
DocType load_doctype_file(const std::filesystem::path& file, const std::string& source,
                          const std::string& app);

/// Apps found under `<project>/apps/` (folders with an app.json), sorted by name.
std::vector<std::string> discover_apps(const std::filesystem::path& project_root);

/// Loads the DocTypes of `apps` in order from `<project>/apps/<app>/doctypes/*/doctype.json`,
/// then checks references between them. Throws Error{validation|not_found}.
MetaRegistry load_metadata(const std::filesystem::path& project_root,
                           const std::vector<std::string>& apps);

/// Whether `word` is reserved in SQL (refused as a field name).
bool is_reserved_sql_word(std::string_view word);

/// Valid names: DocTypes "Sales Invoice", fields "customer_name", apps "billing".
bool is_valid_doctype_name(std::string_view name);
bool is_valid_field_name(std::string_view name);
bool is_valid_app_name(std::string_view name);

} // namespace m::core
