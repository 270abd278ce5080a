// The Migrator: the plan (framework migrations, app migrations, then the sync of
// schema_sync.cpp), rollbacks, applying a plan in one transaction, drift and history.
#include "m/migrations/migrator.hpp"

#include "migration_files.hpp"

#include "m/core/crypto.hpp"
#include "m/core/error.hpp"
#include "m/core/values.hpp"
#include "m/migrations/system_sql.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>

namespace m::migrations {

using core::sha256_hex;

namespace fs = std::filesystem;
using core::Error;
using core::ErrorKind;
using detail::has_statement;
using detail::read_file;

namespace {

bool has_column(const core::SqlDialect& d, core::Session& s, std::string_view table,
                std::string_view column) {
    auto info = d.describe_table(s, table);
    return info && std::any_of(info->columns.begin(), info->columns.end(),
                               [&](const core::ColumnInfo& c) { return c.name == column; });
}

} // namespace

const char* to_string(Risk risk) noexcept {
    switch (risk) {
    case Risk::safe:
        return "SAFE";
    case Risk::warning:
        return "WARNING";
    case Risk::breaking:
        return "BREAKING";
    }
    return "SAFE";
}

core::Json Change::to_json() const {
    core::Json j = core::Json::object();
    j["kind"] = kind;
    j["doctype"] = doctype;
    j["action"] = action;
    j["risk"] = to_string(risk);
    j["description"] = description;
    j["sql"] = sql;
    if (!name.empty()) j["migration"] = name;
    if (kind == "app") j["has_down"] = has_down;
    return j;
}

core::Json Drift::to_json() const {
    return core::Json{{"kind", kind}, {"subject", subject}, {"detail", detail}};
}

bool Plan::has_breaking() const noexcept {
    return std::any_of(changes.begin(), changes.end(),
                       [](const Change& c) { return c.risk == Risk::breaking; });
}

core::Json Plan::to_json() const {
    core::Json j = core::Json::object();
    j["pending"] = changes.size();
    j["changes"] = core::Json::array();
    for (const auto& c : changes) j["changes"].push_back(c.to_json());
    return j;
}

Migrator::Migrator(core::Database& db, const core::MetaRegistry& meta, fs::path project_root,
                   std::vector<std::string> apps)
    : m_db(db), m_meta(meta), m_root(std::move(project_root)), m_apps(std::move(apps)) {}

bool Migrator::initialized() {
    auto s = m_db.session();
    return m_db.dialect().describe_table(*s, "m_migrations").has_value();
}

std::vector<Change> Migrator::plan_system(core::Session& s, bool initialized) {
    std::set<std::string> applied;
    if (initialized) {
        auto rs =
            s.query("SELECT version FROM m_migrations WHERE app = " + m_db.dialect().placeholder(1),
                    {std::string("m")});
        for (const auto& row : rs.rows) applied.insert(row[0].value_or(""));
    }
    std::vector<Change> out;
    for (const auto& mig : system_migrations()) {
        if (m_db.dialect().name() != mig.dialect) continue;
        std::string name = mig.name;
        std::string version = name.substr(0, name.find('_'));
        if (applied.count(version)) continue;
        Change c;
        c.kind = "system";
        c.doctype = "m";
        c.action = "run_migration";
        c.description = fmt::format("framework migration {}", name);
        c.risk = Risk::safe;
        c.sql = {mig.sql};
        c.version = version;
        c.name = name;
        c.checksum = sha256_hex(mig.sql);
        out.push_back(std::move(c));
    }
    return out;
}

std::vector<Change> Migrator::plan_apps(core::Session& s, bool initialized) {
    std::vector<Change> out;
    const std::string dialect = m_db.dialect().name();
    for (const auto& app : m_apps) {
        fs::path dir = m_root / "apps" / app / "migrations";
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) continue;
        std::set<std::string> applied;
        if (initialized) {
            auto rs = s.query("SELECT version FROM m_migrations WHERE app = " +
                                  m_db.dialect().placeholder(1),
                              {app});
            for (const auto& row : rs.rows) applied.insert(row[0].value_or(""));
        }
        struct Found {
            fs::path path;
            bool for_dialect = false;
        };
        std::map<std::string, Found> files;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            std::string fname = entry.path().filename().string();
            std::smatch mt;
            if (!std::regex_match(fname, mt, detail::app_migration_re())) continue;
            if (app == "m") {
                throw Error(ErrorKind::validation,
                            fmt::format("apps/m/migrations/{}: app 'm' cannot have migrations: "
                                        "m_migrations records the framework's own under that name",
                                        fname));
            }
            if (mt[3].matched && mt[3].str() != dialect) continue;
            std::string version = mt[1];
            auto it = files.find(version);
            if (it != files.end() && it->second.for_dialect != mt[3].matched) {
                if (!mt[3].matched) continue; // the dialect file wins over the shared one
            } else if (it != files.end()) {
                throw Error(ErrorKind::validation,
                            fmt::format("apps/{}/migrations: '{}' and '{}' have the same number "
                                        "{}; renumber one of them",
                                        app, it->second.path.filename().string(), fname, version));
            }
            files[version] = {entry.path(), mt[3].matched};
        }
        for (const auto& [version, found] : files) {
            if (applied.count(version)) continue;
            const fs::path& path = found.path;
            std::string text = read_file(path);
            Change c;
            c.kind = "app";
            c.doctype = app;
            c.action = "run_migration";
            c.name = path.filename().string();
            c.description = fmt::format("app migration apps/{}/migrations/{}", app, c.name);
            auto sections =
                parse_migration(text, fmt::format("apps/{}/migrations/{}", app, c.name));
            c.risk = Risk::warning; // hand-written SQL: review it
            c.sql = {sections.up};
            c.version = version;
            c.checksum = sha256_hex(text);
            c.down = sections.down;
            c.has_down = sections.has_down;
            out.push_back(std::move(c));
        }
    }
    return out;
}

Plan Migrator::plan(const std::string& what) {
    auto s = m_db.session();
    bool init = m_db.dialect().describe_table(*s, "m_migrations").has_value();
    Plan p;
    auto append = [&](const std::vector<Change>& v) {
        for (const auto& c : v) p.changes.push_back(c);
    };
    append(plan_system(*s, init));
    std::vector<Change> apps;
    if (what == "all" || what == "run") apps = plan_apps(*s, init);
    append(apps);
    if (what == "all" || what == "sync")
        append(apps.empty() ? plan_sync(*s) : plan_sync_after(*s, apps));
    return p;
}

Plan Migrator::plan_rollback(int steps, const std::string& app) {
    if (steps < 1) {
        throw Error(ErrorKind::validation,
                    fmt::format("--steps must be at least 1 (got {})", steps));
    }
    Plan p;
    auto s = m_db.session();
    const auto& d = m_db.dialect();
    if (!d.describe_table(*s, "m_migrations")) return p;
    // Before framework migration 0002 no down SQL was kept and the order is the time.
    const bool keeps_down = has_column(d, *s, "m_migrations", "seq");
    std::string sql = fmt::format(
        "SELECT app, version, name, checksum, {} FROM m_migrations WHERE app <> 'm'{} "
        "ORDER BY {} LIMIT {}",
        keeps_down ? "down_sql" : "NULL", app.empty() ? "" : " AND app = " + d.placeholder(2),
        keeps_down ? "seq DESC" : "applied_at DESC, version DESC", d.placeholder(1));
    core::SqlParams params{static_cast<std::int64_t>(steps)};
    if (!app.empty()) params.emplace_back(app);
    auto rs = s->query(sql, params);
    for (const auto& row : rs.rows) {
        Change c;
        c.kind = "rollback";
        c.doctype = row[0].value_or("");
        c.version = row[1].value_or("");
        c.name = row[2].value_or("");
        c.checksum = row[3].value_or("");
        c.action = "rollback_migration";
        c.description =
            fmt::format("roll back app migration apps/{}/migrations/{}", c.doctype, c.name);
        c.risk = Risk::warning;
        if (!row[4] || !has_statement(*row[4])) {
            throw Error(ErrorKind::validation,
                        fmt::format("cannot roll back apps/{}/migrations/{}: it was applied "
                                    "without a down section; nothing was rolled back",
                                    c.doctype, c.name));
        }
        c.down = *row[4];
        c.has_down = true;
        c.sql = {c.down};
        p.changes.push_back(std::move(c));
    }
    return p;
}

void Migrator::apply(const Plan& plan, bool force) {
    if (plan.has_breaking() && !force) {
        std::vector<std::string> what;
        for (const auto& c : plan.changes) {
            if (c.risk == Risk::breaking)
                what.push_back(fmt::format("{}: {}", c.doctype, c.description));
        }
        throw Error(ErrorKind::validation,
                    fmt::format("refusing {} BREAKING change(s) without --force ({}); review them "
                                "with `m migrate --plan`",
                                what.size(), fmt::join(what, "; ")));
    }
    if (plan.empty()) return;
    auto s = m_db.session();
    const auto& d = m_db.dialect();
    core::UnitOfWork uow(*s);
    std::string now = core::now_timestamp();
    auto p = [&d](int n) { return d.placeholder(n); };
    // Whether m_migrations has down_sql and seq yet (framework migration 0002 may run in this
    // very plan, after 0001 was recorded without them).
    bool keeps_down =
        d.describe_table(*s, "m_migrations") && has_column(d, *s, "m_migrations", "seq");
    for (const auto& c : plan.changes) {
        for (const auto& sql : c.sql) {
            if (c.kind != "sync" && !has_statement(sql)) continue; // only comments
            try {
                s->execute_script(sql);
            } catch (const Error& e) {
                throw Error(e.kind() == ErrorKind::internal ? ErrorKind::validation : e.kind(),
                            fmt::format("{} failed at '{}' ({}), nothing was {}: {}",
                                        c.kind == "rollback" ? "rollback" : "migration",
                                        c.description, c.doctype,
                                        c.kind == "rollback" ? "rolled back" : "applied",
                                        e.what()));
            }
        }
        if (c.kind == "system" && !keeps_down)
            keeps_down = has_column(d, *s, "m_migrations", "seq");
        if ((c.kind == "system" || c.kind == "app") && keeps_down) {
            auto next = s->query("SELECT COALESCE(MAX(seq), 0) + 1 FROM m_migrations");
            std::int64_t seq = next.integer(0, 0, 1);
            core::SqlValue down = std::monostate{};
            if (c.kind == "app" && c.has_down) down = c.down;
            s->execute(fmt::format("INSERT INTO m_migrations (app, version, name, checksum, "
                                   "applied_at, down_sql, seq) VALUES ({}, {}, {}, {}, {}, {}, {})",
                                   p(1), p(2), p(3), p(4), p(5), p(6), p(7)),
                       {c.doctype, c.version, c.name, c.checksum, now, down, seq});
        } else if (c.kind == "system" || c.kind == "app") {
            s->execute(fmt::format("INSERT INTO m_migrations (app, version, name, checksum, "
                                   "applied_at) VALUES ({}, {}, {}, {}, {})",
                                   p(1), p(2), p(3), p(4), p(5)),
                       {c.doctype, c.version, c.name, c.checksum, now});
        } else if (c.kind == "rollback") {
            s->execute(
                fmt::format("DELETE FROM m_migrations WHERE app = {} AND version = {}", p(1), p(2)),
                {c.doctype, c.version});
        }
        s->execute(
            fmt::format("INSERT INTO m_migration_history (applied_at, doctype, action, risk, "
                        "statement) VALUES ({}, {}, {}, {}, {})",
                        p(1), p(2), p(3), p(4), p(5)),
            {now, c.doctype, c.action, std::string(to_string(c.risk)),
             fmt::format("{}", fmt::join(c.sql, ";\n"))});
    }
    uow.commit();
}

std::vector<Drift> Migrator::verify() {
    std::vector<Drift> out;
    for (const auto& c : plan("all").changes) {
        if (c.kind == "sync") {
            out.push_back(
                {"schema", c.doctype, fmt::format("{} [{}]", c.description, to_string(c.risk))});
        } else {
            out.push_back({"pending_migration", fmt::format("{}/{}", c.doctype, c.name),
                           fmt::format("{} is not applied yet", c.description)});
        }
    }
    auto s = m_db.session();
    const auto& d = m_db.dialect();
    if (d.describe_table(*s, "m_migrations")) {
        auto rs = s->query("SELECT app, name, checksum FROM m_migrations WHERE app <> 'm' "
                           "ORDER BY app, version");
        for (const auto& row : rs.rows) {
            std::string app = row[0].value_or(""), name = row[1].value_or("");
            std::string applied = row[2].value_or("");
            fs::path file = m_root / "apps" / app / "migrations" / name;
            std::string subject = fmt::format("{}/{}", app, name);
            std::error_code ec;
            if (!fs::is_regular_file(file, ec)) {
                out.push_back(
                    {"checksum", subject,
                     fmt::format("applied, but apps/{}/migrations/{} is missing", app, name)});
                continue;
            }
            std::string now = sha256_hex(read_file(file));
            if (now != applied) {
                out.push_back({"checksum", subject,
                               fmt::format("apps/{}/migrations/{} changed since it was applied "
                                           "(sha256 {}, applied {})",
                                           app, name, now.substr(0, 12), applied.substr(0, 12))});
            }
        }
    }
    // Tables with the standard columns of a DocType table that no DocType claims: left behind by
    // a removed doctype.json (m never drops a table) or created by hand.
    std::set<std::string> known;
    for (const auto& dt : m_meta.all()) known.insert(dt->table_name());
    std::vector<std::string> candidates;
    for (const auto& t : d.list_tables(*s)) {
        if (t.rfind("m_", 0) != 0 && !known.count(t)) candidates.push_back(t);
    }
    for (const auto& [table, info] : d.describe_tables(*s, candidates)) {
        std::set<std::string> cols;
        for (const auto& c : info.columns) cols.insert(c.name);
        bool looks_like_doctype =
            std::all_of(core::standard_field_names().begin(), core::standard_field_names().end(),
                        [&](const std::string& f) { return cols.count(f) > 0; });
        if (looks_like_doctype) {
            out.push_back({"orphan_table", table,
                           fmt::format("table {} has the columns of a DocType table, but no "
                                       "DocType uses it (drop it by hand if it is not needed)",
                                       table)});
        }
    }
    return out;
}

std::vector<HistoryEntry> Migrator::history(int limit) {
    std::vector<HistoryEntry> out;
    if (!initialized()) return out;
    auto s = m_db.session();
    auto rs = s->query(fmt::format("SELECT applied_at, doctype, action, risk FROM "
                                   "m_migration_history ORDER BY id DESC LIMIT {}",
                                   m_db.dialect().placeholder(1)),
                       {static_cast<std::int64_t>(limit)});
    for (const auto& row : rs.rows) {
        HistoryEntry h;
        h.applied_at = row[0].value_or("");
        core::Field at;
        at.name = "applied_at";
        at.type = core::FieldType::datetime;
        if (auto canon = core::from_sql(at, row[0]); canon.is_string()) {
            h.applied_at = canon.get<std::string>();
        }
        h.subject = row[1].value_or("");
        h.action = row[2].value_or("");
        h.kind =
            h.action == "run_migration" || h.action == "rollback_migration" ? "versioned" : "sync";
        h.risk = row[3].value_or("");
        out.push_back(std::move(h));
    }
    return out;
}

} // namespace m::migrations
