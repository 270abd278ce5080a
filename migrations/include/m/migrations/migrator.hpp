// The migration engine behind `m migrate`.
//
// The desired schema comes from the DocType metadata; the current one from introspecting the live
// database (never from a stored snapshot, so hand edits and failed deploys are seen as they are).
// A plan is a list of changes, each graded SAFE / WARNING / BREAKING with the SQL it would run.
// Applying a plan happens in one transaction on both databases: it all lands or nothing does.
//
// Beside the sync, apps carry versioned SQL migrations (apps/<app>/migrations/NNNN_slug.sql) with
// an up section and an optional down section; `m migrate` runs the framework's migrations, then
// the apps', then the sync. Applied migrations keep their down SQL in m_migrations, so a rollback
// does not depend on the file still being there.
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
    std::string kind;        ///< "system", "sync", "app" or "rollback"
    std::string doctype;     ///< for sync changes; the app for versioned migrations
    std::string action;      ///< "create_table", "add_column", "drop_column", "alter_type", ...
    std::string description; ///< one line for humans
    Risk risk = Risk::safe;
    std::vector<std::string> sql;
    std::string version;   ///< versioned migrations: "0001"
    std::string name;      ///< versioned migrations: "0001_system"
    std::string checksum;  ///< versioned migrations: sha256 of the whole file
    std::string down;      ///< app migrations: the down section, stored when applied
    bool has_down = false; ///< app migrations: whether the down section has a statement

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
    std::string kind; ///< "sync" or "versioned" (run_migration, rollback_migration)
    std::string subject;
    std::string action;
    std::string risk;
};

/// One difference `Migrator::verify` found between the code and the database.
struct Drift {
    std::string kind;    ///< "schema", "pending_migration", "checksum" or "orphan_table"
    std::string subject; ///< the DocType, "app/NNNN_slug.sql" or the table
    std::string detail;  ///< one line for humans

    core::Json to_json() const;
};

/// An app migration file split at its `-- migrate:up` / `-- migrate:down` marker lines.
struct MigrationSections {
    std::string up;        ///< what `m migrate` runs; the whole file when it has no markers
    std::string down;      ///< what `m migrate rollback` runs
    bool has_down = false; ///< a down section with at least one statement (not only comments)
};

/// Splits a migration file. Text before the first marker belongs to the up section. A marker
/// given twice, or a transaction statement (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, ...) in either
/// section, is Error{validation} naming `source`: every migration runs inside the transaction of
/// its `m migrate` run, and a COMMIT in it would break "all or nothing".
MigrationSections parse_migration(std::string_view text, std::string_view source);

/// The file-name part of a migration message: lowercase ASCII letters and digits, runs of
/// anything else as one '_', trimmed of '_', at most 50 characters. Empty when nothing is left.
std::string migration_slug(std::string_view message);

/// Writes a new migration template to <project>/apps/<app>/migrations/NNNN_<slug>.sql (or
/// NNNN_<slug>.<dialect>.sql for "sqlite"/"postgres"), NNNN being the app's next number; the
/// counterpart of an existing dialect file of the newest number shares its number. Returns the
/// path. Error{not_found} for an app without apps/<app>/app.json, Error{validation} for a message
/// without letters or digits, an unknown dialect or the app "m" (the framework's name in
/// m_migrations), Error{conflict} rather than overwrite.
std::filesystem::path create_migration(const std::filesystem::path& project_root,
                                       const std::string& app, const std::string& message,
                                       const std::string& dialect = "");

class Migrator {
public:
    /// `apps` in load order; app migrations are read from <project>/apps/<app>/migrations/.
    Migrator(core::Database& db, const core::MetaRegistry& meta, std::filesystem::path project_root,
             std::vector<std::string> apps);

    /// Everything `m migrate` would do, in order: framework migrations, app migrations, schema
    /// sync. `what` selects parts: "all", "sync" or "run" (versioned only); pending framework
    /// migrations are always part. With app migrations pending, the sync part is the diff after
    /// them: they are run in a transaction that is rolled back (when one fails, the diff against
    /// the schema as it is; applying the plan then fails at that migration).
    Plan plan(const std::string& what = "all");

    /// The last `steps` applied app migrations (only of `app` when not empty), newest first, as
    /// "rollback" changes running their stored down SQL. Framework migrations are never part.
    /// Error{validation} naming the first one without a down section: nothing is rolled back.
    Plan plan_rollback(int steps, const std::string& app = "");

    /// Applies a plan (from plan() or plan_rollback()) in one transaction and records it in
    /// m_migrations and m_migration_history. BREAKING changes need `force` (else
    /// Error{validation} and nothing is applied). On failure nothing is applied.
    void apply(const Plan& plan, bool force);

    /// Drift between the code and the database: pending sync changes ("schema", per change),
    /// pending versioned migrations, applied app migrations whose file is missing or has another
    /// SHA-256 ("checksum"), and tables with the standard columns of a DocType table but no
    /// DocType ("orphan_table"; m_* tables are the framework's). Empty when in line.
    std::vector<Drift> verify();

    /// What ran, newest first (at most `limit`).
    std::vector<HistoryEntry> history(int limit = 50);

    /// Whether the framework's tables exist (false on a fresh database).
    bool initialized();

private:
    std::vector<Change> plan_system(core::Session& s, bool initialized);
    std::vector<Change> plan_sync(core::Session& s);
    std::vector<Change> plan_apps(core::Session& s, bool initialized);
    std::vector<Change> plan_sync_after(core::Session& s, const std::vector<Change>& app_changes);
    void plan_doctype(const core::DocType& dt, const core::TableInfo* live,
                      std::vector<Change>& out);

    core::Database& m_db;
    const core::MetaRegistry& m_meta;
    std::filesystem::path m_root;
    std::vector<std::string> m_apps;
};

} // namespace m::migrations
