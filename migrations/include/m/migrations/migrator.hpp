// The migration engine behind `m migrate`.
//
// The desired schema comes from the DocType metadata; the current one from introspecting the live
// database (never from a stored snapshot, so hand edits and failed deploys are seen as they are).
// A plan is a list of changes, each graded SAFE / WARNING / BREAKING with the SQL it would run.
// Applying a plan happens in one transaction on both databases: it all lands or nothing does.
#pragma once

#include "m/core/database.hpp"
#include "m/core/doctype.hpp"
#include "m/core/values.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace m::migrations {

enum class Risk { safe, warning, breaking };

/// "SAFE", "WARNING", "BREAKING".
const char* to_string(Risk risk) noexcept;

struct Change {
    std::string kind;        ///< "system", "sync" or "app"
    std::string doctype;     ///< for sync changes; the app for versioned migrations
    std::string action;      ///< "create_table", "add_column", "drop_column", "alter_type", ...
    std::string description; ///< one line for humans
    Risk risk = Risk::safe;
    std::vector<std::string> sql;
    std::string version;  ///< versioned migrations: "0001"
    std::string name;     ///< versioned migrations: "0001_system"
    std::string checksum; ///< versioned migrations: sha256 of the SQL

    core::Json to_json() const;
};

struct Plan {
    std::vector<Change> changes;

    bool empty() const noexcept { return changes.empty(); }
    bool has_breaking() const noexcept;
    core::Json to_json() const;
};

struct HistoryEntry {
    std::string applied_at;
    std::string kind; ///< "sync" or "versioned"
    std::string subject;
    std::string action;
    std::string risk;
};

class Migrator {
public:
    /// `apps` in load order; app migrations are read from <project>/apps/<app>/migrations/.
    Migrator(core::Database& db, const core::MetaRegistry& meta, std::filesystem::path project_root,
             std::vector<std::string> apps);

    /// Everything `m migrate` would do: system migrations, schema sync, app migrations.
    /// `what` selects parts: "all", "sync" or "run" (versioned only).
    Plan plan(const std::string& what = "all");

    /// Applies a plan in one transaction and records it. BREAKING changes need `force`
    /// (else Error{validation} and nothing is applied). On failure nothing is applied.
    void apply(const Plan& plan, bool force);

    /// What ran, newest first (at most `limit`).
    std::vector<HistoryEntry> history(int limit = 50);

    /// Whether the framework's tables exist (false on a fresh database).
    bool initialized();

private:
    std::vector<Change> plan_system(core::Session& s, bool initialized);
    std::vector<Change> plan_sync(core::Session& s);
    std::vector<Change> plan_apps(core::Session& s, bool initialized);
    void plan_doctype(const core::DocType& dt, const core::TableInfo* live,
                      std::vector<Change>& out);

    core::Database& m_db;
    const core::MetaRegistry& m_meta;
    std::filesystem::path m_root;
    std::vector<std::string> m_apps;
};

/// SHA-256 of a text, lowercase hex.
std::string sha256_hex(std::string_view text);

} // namespace m::migrations
