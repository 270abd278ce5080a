// `m migrate`: pending versioned migrations (run) plus schema from DocType metadata (sync); and
// the versioned migrations' tooling: create, rollback, verify.
#include "m/commands/command.hpp"
#include "m/core/error.hpp"
#include "m/migrations/migrator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <map>

namespace m::commands {

using core::Json;
using migrations::Migrator;
using migrations::Plan;

namespace {

struct MigrateOptions {
    bool plan = false;
    bool check = false;
    bool force = false;
};

void print_plan(const Plan& plan, const std::string& db_name,
                const char* header = "{} pending change(s) on {}:\n") {
    if (plan.empty()) {
        fmt::print("Nothing to migrate: the {} schema is up to date.\n", db_name);
        return;
    }
    fmt::print(fmt::runtime(header), plan.changes.size(), db_name);
    for (const auto& c : plan.changes) {
        fmt::print("  [{:<8}] {:<16} {}\n", migrations::to_string(c.risk), c.doctype,
                   c.description);
        for (const auto& sql : c.sql) {
            std::string indented;
            for (char ch : sql) {
                indented += ch;
                if (ch == '\n') indented += "      ";
            }
            while (!indented.empty() &&
                   (indented.back() == '\n' || indented.back() == ' ' || indented.back() == ';')) {
                indented.pop_back();
            }
            fmt::print("      {};\n", indented);
        }
    }
}

void migrate(const GlobalOptions& options, Needs needs, const MigrateOptions& o,
             const std::string& what) {
    auto rt = bootstrap(options, needs);
    Migrator migrator(rt->db(), rt->meta, rt->settings.project_root, rt->apps);
    Plan plan = migrator.plan(what);
    const std::string db_name = rt->db().dialect().name();
    if (o.plan || o.check) {
        if (options.json)
            print_json(plan.to_json());
        else
            print_plan(plan, db_name);
        if (o.check && !plan.empty()) set_exit_status(3);
        return;
    }
    migrator.apply(plan, o.force);
    if (options.json) {
        Json j = plan.to_json();
        j["applied"] = plan.changes.size();
        print_json(j);
        return;
    }
    if (plan.empty()) {
        fmt::print("Nothing to migrate: the {} schema is up to date.\n", db_name);
        return;
    }
    for (const auto& c : plan.changes) {
        fmt::print("  [{:<8}] {:<16} {}\n", migrations::to_string(c.risk), c.doctype,
                   c.description);
    }
    fmt::print("Applied {} change(s) on {}.\n", plan.changes.size(), db_name);
}

void status(const GlobalOptions& options, Needs needs) {
    auto rt = bootstrap(options, needs);
    Migrator migrator(rt->db(), rt->meta, rt->settings.project_root, rt->apps);
    Plan plan = migrator.plan("all");
    std::map<std::string, std::vector<const migrations::Change*>> by_subject;
    for (const auto& c : plan.changes) by_subject[c.doctype].push_back(&c);
    Json out = Json::object();
    out["database"] = rt->db().dialect().name();
    out["pending"] = plan.changes.size();
    out["doctypes"] = Json::array();
    for (const auto& dt : rt->meta.all()) {
        Json row = Json::object();
        row["doctype"] = dt->name;
        row["table"] = dt->table_name();
        row["changes"] = Json::array();
        for (const auto* c : by_subject[dt->name]) row["changes"].push_back(c->to_json());
        out["doctypes"].push_back(row);
    }
    if (options.json) {
        Json extra = Json::array();
        for (const auto& c : plan.changes) {
            if (c.kind != "sync") extra.push_back(c.to_json());
        }
        out["migrations"] = extra;
        print_json(out);
        return;
    }
    fmt::print("Database: {} ({})\n", rt->db().display_url(), rt->db().dialect().name());
    for (const auto& c : plan.changes) {
        if (c.kind != "sync") fmt::print("  pending  {}\n", c.description);
    }
    for (const auto& dt : rt->meta.all()) {
        const auto& changes = by_subject[dt->name];
        if (changes.empty()) {
            fmt::print("  {:<24} up to date\n", dt->name);
        } else {
            fmt::print("  {:<24} {} pending\n", dt->name, changes.size());
            for (const auto* c : changes) {
                fmt::print("      [{}] {}\n", migrations::to_string(c->risk), c->description);
            }
        }
    }
    if (plan.empty())
        fmt::print("Everything is up to date.\n");
    else
        fmt::print("{} pending change(s); run `m migrate` to apply.\n", plan.changes.size());
}

void history(const GlobalOptions& options, Needs needs, int limit) {
    auto rt = bootstrap(options, needs);
    Migrator migrator(rt->db(), rt->meta, rt->settings.project_root, rt->apps);
    auto entries = migrator.history(limit);
    if (options.json) {
        Json arr = Json::array();
        for (const auto& h : entries) {
            arr.push_back(Json{{"applied_at", h.applied_at},
                               {"kind", h.kind},
                               {"subject", h.subject},
                               {"action", h.action},
                               {"risk", h.risk}});
        }
        print_json(arr);
        return;
    }
    if (entries.empty()) fmt::print("No migrations have run yet.\n");
    for (const auto& h : entries) {
        fmt::print("{}  {:<9} {:<16} {:<16} {}\n", h.applied_at, h.risk, h.subject, h.action,
                   h.kind);
    }
}

void create(const GlobalOptions& options, const std::string& message, const std::string& app,
            const std::string& dialect) {
    // Settings only: a broken doctype.json or an unreachable database must not stop this.
    core::Settings settings = load_settings_for(options);
    auto path = migrations::create_migration(settings.project_root, app, message, dialect);
    if (options.json) {
        print_json(Json{{"path", path.string()}});
        return;
    }
    fmt::print("Created {}\nNext: write the up and down sections, then m migrate\n", path.string());
}

void rollback(const GlobalOptions& options, Needs needs, int steps, const std::string& app,
              bool plan_only) {
    auto rt = bootstrap(options, needs);
    Migrator migrator(rt->db(), rt->meta, rt->settings.project_root, rt->apps);
    Plan plan = migrator.plan_rollback(steps, app);
    const std::string db_name = rt->db().dialect().name();
    if (plan_only) {
        if (options.json) {
            print_json(plan.to_json());
        } else if (plan.empty()) {
            fmt::print("Nothing to roll back on {}.\n", db_name);
        } else {
            print_plan(plan, db_name, "{} migration(s) to roll back on {}, newest first:\n");
        }
        return;
    }
    migrator.apply(plan, false);
    if (options.json) {
        Json j = plan.to_json();
        j["rolled_back"] = plan.changes.size();
        print_json(j);
        return;
    }
    if (plan.empty()) {
        fmt::print("Nothing to roll back on {}.\n", db_name);
        return;
    }
    for (const auto& c : plan.changes) {
        fmt::print("  [{:<8}] {:<16} {}\n", migrations::to_string(c.risk), c.doctype,
                   c.description);
    }
    fmt::print("Rolled back {} migration(s) on {}.\n", plan.changes.size(), db_name);
}

void verify(const GlobalOptions& options, Needs needs) {
    auto rt = bootstrap(options, needs);
    Migrator migrator(rt->db(), rt->meta, rt->settings.project_root, rt->apps);
    auto problems = migrator.verify();
    if (options.json) {
        Json j = Json::object();
        j["ok"] = problems.empty();
        j["problems"] = Json::array();
        for (const auto& p : problems) j["problems"].push_back(p.to_json());
        print_json(j);
    } else if (problems.empty()) {
        fmt::print("no drift: the {} database matches the metadata and the migration files.\n",
                   rt->db().dialect().name());
    } else {
        for (const auto& p : problems) {
            std::string kind = p.kind;
            std::replace(kind.begin(), kind.end(), '_', ' ');
            fmt::print("{}: {}: {}\n", kind, p.subject, p.detail);
        }
        std::fflush(stdout);
        fmt::print(stderr, "drift: {} problem(s) between the code and the {} database\n",
                   problems.size(), rt->db().dialect().name());
    }
    if (!problems.empty()) set_exit_status(1);
}

} // namespace

void add_migrate(CLI::App& cmd, const GlobalOptions& options, Needs needs) {
    auto o = std::make_shared<MigrateOptions>();
    auto add_flags = [o](CLI::App* app) {
        app->add_flag("--plan", o->plan, "Print the SQL and a risk grade; change nothing");
        app->add_flag("--check", o->check, "Exit 3 when changes are pending (for CI)");
        app->add_flag("--force", o->force, "Allow BREAKING changes (drops, type changes)");
    };
    add_flags(&cmd);
    cmd.callback([&options, needs, o, &cmd] {
        if (cmd.get_subcommands().empty()) migrate(options, needs, *o, "all");
    });
    auto* sync = cmd.add_subcommand("sync", "Only bring tables in line with the metadata");
    add_flags(sync);
    sync->callback([&options, needs, o] { migrate(options, needs, *o, "sync"); });
    auto* run = cmd.add_subcommand("run", "Only run pending versioned migrations");
    add_flags(run);
    run->callback([&options, needs, o] { migrate(options, needs, *o, "run"); });
    auto* st = cmd.add_subcommand("status", "Show pending changes per DocType");
    st->callback([&options, needs] { status(options, needs); });
    auto* hist = cmd.add_subcommand("history", "Show what migrations ran, newest first");
    auto limit = std::make_shared<int>(50);
    hist->add_option("--limit", *limit, "How many entries")->check(CLI::Range(1, 100000));
    hist->callback([&options, needs, limit] { history(options, needs, *limit); });

    auto* cr = cmd.add_subcommand("create", "Write a new numbered SQL migration for an app");
    struct CreateOptions {
        std::string message, app, dialect;
    };
    auto co = std::make_shared<CreateOptions>();
    cr->add_option("MESSAGE", co->message, "What the migration does (names the file)")->required();
    cr->add_option("--app", co->app, "The app that owns the migration")->required();
    cr->add_option("--dialect", co->dialect, "Only for this database")
        ->check(CLI::IsMember({"sqlite", "postgres"}));
    cr->callback([&options, co] { create(options, co->message, co->app, co->dialect); });

    auto* rb = cmd.add_subcommand("rollback", "Undo the last applied app migrations");
    struct RollbackOptions {
        int steps = 1;
        std::string app;
        bool plan = false;
    };
    auto ro = std::make_shared<RollbackOptions>();
    rb->add_option("--steps", ro->steps, "How many migrations, newest first (default 1)")
        ->check(CLI::Range(1, 100000));
    rb->add_option("--app", ro->app, "Only migrations of this app");
    rb->add_flag("--plan", ro->plan, "Print the SQL that would run; change nothing");
    rb->callback([&options, needs, ro] { rollback(options, needs, ro->steps, ro->app, ro->plan); });

    auto* ve = cmd.add_subcommand("verify", "Report drift between the code and the database");
    ve->callback([&options, needs] { verify(options, needs); });
}

} // namespace m::commands
