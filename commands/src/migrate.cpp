// `m migrate`: schema from DocType metadata (sync) plus pending versioned migrations (run).
#include "m/commands/command.hpp"
#include "m/core/error.hpp"
#include "m/migrations/migrator.hpp"

#include <fmt/format.h>

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

void print_plan(const Plan& plan, const std::string& db_name) {
    if (plan.empty()) {
        fmt::print("Nothing to migrate: the {} schema is up to date.\n", db_name);
        return;
    }
    fmt::print("{} pending change(s) on {}:\n", plan.changes.size(), db_name);
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
        if (o.check && !plan.empty()) throw ExitCode{3};
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
}

} // namespace m::commands
