// The composition root: the only place that knows the concrete adapters. Services are chosen by
// URL scheme and added to the container in dependency order; the container stops them in reverse.
#include "m/adapters/postgres/postgres_database.hpp"
#include "m/adapters/sqlite/sqlite_database.hpp"
#include "m/commands/command.hpp"
#include "m/core/doctype_loader.hpp"
#include "m/core/error.hpp"

#include <fmt/format.h>

namespace m::commands {

using core::Error;
using core::ErrorKind;

core::Database& Runtime::db() const {
    if (!database) throw Error(ErrorKind::internal, "command ran without a database");
    return *database;
}

core::Settings load_settings_for(const GlobalOptions& options) {
    core::SettingsFlags flags;
    if (!options.project.empty()) flags.project_dir = options.project;
    if (!options.config.empty()) flags.config_file = options.config;
    if (options.verbose > 0) flags.log_level = "debug";
    if (options.quiet > 0) flags.log_level = "error";
    return core::load_settings(flags);
}

std::unique_ptr<core::Database> make_database(const core::Settings& settings) {
    std::string url = settings.effective_database_url();
    auto pool = static_cast<std::size_t>(settings.db_pool_size);
    if (url.rfind("sqlite://", 0) == 0) {
        std::filesystem::path path = url.substr(9);
        if (path.is_relative()) path = settings.project_root / path;
        return std::make_unique<adapters::sqlite::SqliteDatabase>(path, pool);
    }
    if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
        return std::make_unique<adapters::postgres::PostgresDatabase>(url, pool);
    }
    throw Error(
        ErrorKind::validation,
        fmt::format("DATABASE_URL '{}' has an unknown scheme (use postgres:// or sqlite://)",
                    core::mask_url(url)));
}

std::unique_ptr<Runtime> bootstrap(const GlobalOptions& options, Needs needs) {
    auto rt = std::make_unique<Runtime>();
    if (needs == Needs::none) return rt;
    rt->settings = load_settings_for(options);
    rt->apps = rt->settings.apps_explicit ? rt->settings.installed_apps
                                          : core::discover_apps(rt->settings.project_root);
    rt->meta = core::load_metadata(rt->settings.project_root, rt->apps);
    if (needs == Needs::settings) return rt;
    rt->database = rt->container.add(make_database(rt->settings));
    rt->container.start();
    return rt;
}

} // namespace m::commands
