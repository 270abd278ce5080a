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

void doctor(const GlobalOptions& options) {
    std::vector<Check> checks;
    auto run = [&](const std::string& name, auto fn) {
        try {
            checks.push_back({name, true, fn()});
            return true;
        } catch (const std::exception& e) {
            checks.push_back({name, false, e.what()});
            return false;
        }
    };
    core::Settings settings;
    bool have_settings = run("settings", [&] {
        settings = load_settings_for(options);
        return settings.config_file.string();
    });
    core::MetaRegistry meta;
    std::vector<std::string> apps;
    bool have_meta =
        have_settings && run("metadata", [&] {
            apps = settings.apps_explicit ? settings.installed_apps
                                          : core::discover_apps(settings.project_root);
            meta = core::load_metadata(settings.project_root, apps);
            return fmt::format("{} app(s), {} DocType(s)", apps.size(), meta.all().size());
        });
    if (have_settings) {
        run("project folder", [&] {
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
        });
        checks.push_back(
            {"file modes", true, [&] {
                 // Secrets and data are the owner's only (docs/ARCHITECTURE.md, threat model).
                 namespace fs = std::filesystem;
                 std::vector<std::string> loose;
                 for (const fs::path& p :
                      {settings.project_root / ".env", settings.project_root / ".m",
                       settings.project_root / ".m" / "m.sqlite3"}) {
                     std::error_code ec;
                     auto st = fs::status(p, ec);
                     if (ec || !fs::exists(st)) continue;
                     const auto others = fs::perms::group_all | fs::perms::others_all;
                     if ((st.permissions() & others) != fs::perms::none) {
                         loose.push_back(
                             fmt::format("{} is {:o}", p.string(),
                                         static_cast<unsigned>(st.permissions()) & 0777));
                     }
                 }
                 if (!loose.empty()) {
                     return fmt::format("readable by others: {} (chmod 600 the files, 700 .m)",
                                        fmt::join(loose, ", "));
                 }
                 return std::string(".env and .m are the owner's only");
             }()});
        checks.back().warning = checks.back().detail.rfind("readable by others", 0) == 0;
        std::unique_ptr<core::Database> db;
        bool db_ok = run("database", [&] {
            db = make_database(settings);
            db->start();
            db->check();
            return fmt::format("{} ({}) answers", db->display_url(), db->dialect().name());
        });
        if (have_meta) {
            run("app modules", [&] {
                core::ControllerRegistry controllers;
                load_app_modules(settings.project_root, apps, meta, controllers, Stale::refuse);
                return fmt::format("{} controller(s) registered", controllers.doctypes().size());
            });
        }
        bool migrated = false;
        if (db_ok && have_meta) {
            migrated = run("migrations", [&] {
                migrations::Migrator migrator(*db, meta, settings.project_root, apps);
                auto plan = migrator.plan("all");
                if (!plan.empty()) {
                    throw core::Error(
                        core::ErrorKind::validation,
                        fmt::format("{} change(s) pending; run `m migrate`", plan.changes.size()));
                }
                return std::string("schema is up to date");
            });
        }
        if (db) db->stop();
        if (migrated) {
            // The queue, the broker and the cache as `m worker` and `m serve` would start them.
            run("jobs and cache", [&] {
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
                                   rt.queue->kind(), rt.cache->kind(), waiting,
                                   waiting == 1000 ? "+" : "", failed, failed == 1000 ? "+" : "");
            });
        }
    }
    bool all_ok = std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.ok; });
    if (options.json) {
        Json out = Json::object();
        out["ok"] = all_ok;
        out["checks"] = Json::array();
        for (const auto& c : checks) {
            Json check{{"check", c.name}, {"ok", c.ok}, {"detail", c.detail}};
            if (c.warning) check["warning"] = true;
            out["checks"].push_back(std::move(check));
        }
        print_json(out);
    } else {
        for (const auto& c : checks) {
            fmt::print("{}  {:<15} {}\n",
                       !c.ok       ? "FAIL"
                       : c.warning ? "WARN"
                                   : "ok  ",
                       c.name, c.detail);
        }
    }
    if (!all_ok) set_exit_status(1);
}

} // namespace

void add_doctor(CLI::App& cmd, const GlobalOptions& options, Needs) {
    cmd.callback([&options] { doctor(options); });
}

} // namespace m::commands
