// `m doctor`: checks the project step by step and says precisely what is wrong. Unlike other
// commands it does not stop at the first failure: each check reports on its own.
#include "m/commands/app_modules.hpp"
#include "m/commands/command.hpp"
#include "m/core/doctype_loader.hpp"
#include "m/core/error.hpp"
#include "m/migrations/migrator.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <fstream>

namespace m::commands {

using core::Json;

namespace {

struct Check {
    std::string name;
    bool ok;
    std::string detail;
    bool warning = false; ///< ok, but the user should act (printed WARN)
};

/// The checks so far; run() records one, its detail or the error that failed it.
struct Checks {
    std::vector<Check> list;

    template <typename Fn> bool run(const std::string& name, Fn fn) {
        try {
            list.push_back({name, true, fn()});
            return true;
        } catch (const std::exception& e) {
            list.push_back({name, false, e.what()});
            return false;
        }
    }
};

std::string check_project_folder(const core::Settings& settings) {
    namespace fs = std::filesystem;
    fs::path probe = settings.project_root / ".m" / ".doctor-write-test";
    std::error_code ec;
    fs::create_directories(probe.parent_path(), ec);
    std::ofstream out(probe);
    if (ec || !out) {
        throw core::Error(core::ErrorKind::unavailable,
                          fmt::format("{} is not writable", probe.parent_path().string()));
    }
    out.close();
    fs::remove(probe, ec);
    return fmt::format("{} is writable", probe.parent_path().string());
}

/// A warning, never a failure: the project works, but its secrets are readable by others.
Check check_file_modes(const core::Settings& settings) {
    // Secrets and data are the owner's only (docs/ARCHITECTURE.md, threat model).
    namespace fs = std::filesystem;
    std::vector<std::string> loose;
    for (const fs::path& p : {settings.project_root / ".env", settings.project_root / ".m",
                              settings.project_root / ".m" / "m.sqlite3"}) {
        std::error_code ec;
        auto st = fs::status(p, ec);
        if (ec || !fs::exists(st)) continue;
        const auto others = fs::perms::group_all | fs::perms::others_all;
        if ((st.permissions() & others) != fs::perms::none) {
            loose.push_back(fmt::format("{} is {:o}", p.string(),
                                        static_cast<unsigned>(st.permissions()) & 0777));
        }
    }
    if (!loose.empty()) {
        return {"file modes", true,
                fmt::format("readable by others: {} (chmod 600 the files, 700 .m)",
                            fmt::join(loose, ", ")),
                true};
    }
    return {"file modes", true, ".env and .m are the owner's only"};
}

std::string check_migrations(core::Database& db, const core::MetaRegistry& meta,
                             const core::Settings& settings, const std::vector<std::string>& apps) {
    migrations::Migrator migrator(db, meta, settings.project_root, apps);
    auto plan = migrator.plan("all");
    if (!plan.empty()) {
        throw core::Error(
            core::ErrorKind::validation,
            fmt::format("{} change(s) pending; run `m migrate`", plan.changes.size()));
    }
    return std::string("schema is up to date");
}

/// The queue, the broker and the cache as `m worker` and `m serve` would start them.
std::string check_jobs_and_cache(const core::Settings& settings) {
    Runtime rt;
    rt.settings = settings;
    rt.database = rt.container.add(make_database(settings));
    rt.container.start();
    rt.start_services();
    rt.queue->check();
    if (rt.broker) rt.broker->check();
    rt.cache->check();
    auto waiting = rt.queue->recent(1000, core::JobState::pending).size();
    auto failed = rt.queue->recent(1000, core::JobState::failed).size();
    return fmt::format("job queue ({}) and cache ({}) answer; {}{} pending, {}{} "
                       "failed job(s)",
                       rt.queue->kind(), rt.cache->kind(), waiting, waiting == 1000 ? "+" : "",
                       failed, failed == 1000 ? "+" : "");
}

/// Everything that needs the settings: the folder, file modes, the database, the app modules,
/// the schema and the services; each check runs only when what it needs is there.
void check_project(Checks& checks, const core::Settings& settings, bool have_meta,
                   const core::MetaRegistry& meta, const std::vector<std::string>& apps) {
    checks.run("project folder", [&] { return check_project_folder(settings); });
    checks.list.push_back(check_file_modes(settings));
    std::unique_ptr<core::Database> db;
    bool db_ok = checks.run("database", [&] {
        db = make_database(settings);
        db->start();
        db->check();
        return fmt::format("{} ({}) answers", db->display_url(), db->dialect().name());
    });
    if (have_meta) {
        checks.run("app modules", [&] {
            core::ControllerRegistry controllers;
            load_app_modules(settings.project_root, apps, meta, controllers, Stale::refuse);
            return fmt::format("{} controller(s) registered", controllers.doctypes().size());
        });
    }
    bool migrated = false;
    if (db_ok && have_meta) {
        migrated =
            checks.run("migrations", [&] { return check_migrations(*db, meta, settings, apps); });
    }
    if (db) db->stop();
    if (migrated) checks.run("jobs and cache", [&] { return check_jobs_and_cache(settings); });
}

void print_checks(const std::vector<Check>& checks, bool all_ok, bool json) {
    if (json) {
        Json out = Json::object();
        out["ok"] = all_ok;
        out["checks"] = Json::array();
        for (const auto& c : checks) {
            Json check{{"check", c.name}, {"ok", c.ok}, {"detail", c.detail}};
            if (c.warning) check["warning"] = true;
            out["checks"].push_back(std::move(check));
        }
        print_json(out);
        return;
    }
    for (const auto& c : checks) {
        fmt::print("{}  {:<15} {}\n",
                   !c.ok       ? "FAIL"
                   : c.warning ? "WARN"
                               : "ok  ",
                   c.name, c.detail);
    }
}

void doctor(const GlobalOptions& options) {
    Checks checks;
    core::Settings settings;
    bool have_settings = checks.run("settings", [&] {
        settings = load_settings_for(options);
        return settings.config_file.string();
    });
    core::MetaRegistry meta;
    std::vector<std::string> apps;
    bool have_meta = have_settings && checks.run("metadata", [&] {
        apps = settings.apps_explicit ? settings.installed_apps
                                      : core::discover_apps(settings.project_root);
        meta = core::load_metadata(settings.project_root, apps);
        return fmt::format("{} app(s), {} DocType(s)", apps.size(), meta.all().size());
    });
    if (have_settings) check_project(checks, settings, have_meta, meta, apps);
    bool all_ok =
        std::all_of(checks.list.begin(), checks.list.end(), [](const Check& c) { return c.ok; });
    print_checks(checks.list, all_ok, options.json);
    if (!all_ok) set_exit_status(1);
}

} // namespace

void add_doctor(CLI::App& cmd, const GlobalOptions& options, Needs) {
    cmd.callback([&options] { doctor(options); });
}

} // namespace m::commands
