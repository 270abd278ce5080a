#include "m/migrations/migrator.hpp"

#include "m/core/error.hpp"
#include "m/migrations/system_sql.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sodium.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace m::migrations {

namespace fs = std::filesystem;
using core::Error;
using core::ErrorKind;
using core::quote_ident;

namespace {

struct DesiredColumn {
    std::string name;
    std::string type;
    std::string constraint; ///< "PRIMARY KEY", "NOT NULL", "NOT NULL DEFAULT 0" or ""
};

struct DesiredIndex {
    std::string name;
    std::vector<std::string> columns;
    bool unique = false;
};

std::vector<DesiredColumn> desired_columns(const core::DocType& dt, const core::SqlDialect& d) {
    std::vector<DesiredColumn> out;
    for (const auto& f : dt.columns()) {
        if (!f.standard) {
            out.push_back({f.name, d.column_type(f), ""});
            continue;
        }
        if (f.name == "id")
            out.push_back({f.name, d.uuid_type(), "PRIMARY KEY"});
        else if (f.name == "parent_id")
            out.push_back({f.name, d.uuid_type(), ""});
        else if (f.name == "name")
            out.push_back({f.name, d.name_type(), "NOT NULL"});
        else if (f.name == "creation" || f.name == "modified")
            out.push_back({f.name, d.timestamp_type(), ""});
        else if (f.name == "docstatus")
            out.push_back({f.name, d.integer_type(), "NOT NULL DEFAULT 0"});
        else if (f.name == "idx")
            out.push_back({f.name, d.integer_type(), ""});
        else
            out.push_back({f.name, d.name_type(), ""});
    }
    return out;
}

std::string index_name(const std::string& prefix, const std::string& table,
                       const std::vector<std::string>& cols) {
    std::string name = fmt::format("{}_{}_{}", prefix, table, fmt::join(cols, "_"));
    if (name.size() > 63) {
        // PostgreSQL truncates identifiers at 63 bytes; keep them unique with a hash suffix.
        name = name.substr(0, 54) + "_" + sha256_hex(name).substr(0, 8);
    }
    return name;
}

std::vector<DesiredIndex> desired_indexes(const core::DocType& dt) {
    std::vector<DesiredIndex> out;
    std::string table = dt.table_name();
    auto add = [&](std::vector<std::string> cols, bool unique) {
        std::string name = index_name(unique ? "uq" : "ix", table, cols);
        for (const auto& existing : out) {
            if (existing.name == name) return;
        }
        out.push_back({name, std::move(cols), unique});
    };
    add({"name"}, true);
    add({"modified"}, false);
    if (dt.is_child_table) add({"parent_id"}, false);
    for (const auto& f : dt.fields) {
        if (f.unique) add({f.name}, true);
    }
    for (const auto& idx : dt.indexes) add(idx.fields, idx.unique);
    return out;
}

std::string create_table_sql(const std::string& table, const std::vector<DesiredColumn>& cols) {
    std::string body;
    for (const auto& c : cols) {
        if (!body.empty()) body += ",\n";
        body += fmt::format("    {} {}", quote_ident(c.name), c.type);
        if (!c.constraint.empty()) body += " " + c.constraint;
    }
    return fmt::format("CREATE TABLE {} (\n{}\n)", quote_ident(table), body);
}

std::string create_index_sql(const std::string& table, const DesiredIndex& idx) {
    std::vector<std::string> cols;
    for (const auto& c : idx.columns) cols.push_back(quote_ident(c));
    return fmt::format("CREATE {}INDEX {} ON {} ({})", idx.unique ? "UNIQUE " : "",
                       quote_ident(idx.name), quote_ident(table), fmt::join(cols, ", "));
}

bool managed_index(const std::string& name, const std::string& table) {
    return name.rfind("uq_" + table + "_", 0) == 0 || name.rfind("ix_" + table + "_", 0) == 0 ||
           (name.size() == 63 && (name.rfind("uq_", 0) == 0 || name.rfind("ix_", 0) == 0) &&
            name.substr(3, std::min<std::size_t>(table.size(), 51)) ==
                table.substr(0, std::min<std::size_t>(table.size(), 51)));
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
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

std::string sha256_hex(std::string_view text) {
    unsigned char out[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    std::string hex;
    for (unsigned char b : out) hex += fmt::format("{:02x}", b);
    return hex;
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
    return j;
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

void Migrator::plan_doctype(const core::DocType& dt, const core::TableInfo* live,
                            std::vector<Change>& out) {
    const auto& d = m_db.dialect();
    std::string table = dt.table_name();
    auto cols = desired_columns(dt, d);
    auto idxs = desired_indexes(dt);
    auto change = [&](std::string action, std::string desc, Risk risk,
                      std::vector<std::string> sql) {
        Change c;
        c.kind = "sync";
        c.doctype = dt.name;
        c.action = std::move(action);
        c.description = std::move(desc);
        c.risk = risk;
        c.sql = std::move(sql);
        out.push_back(std::move(c));
    };
    if (!live) {
        std::vector<std::string> sql{create_table_sql(table, cols)};
        for (const auto& idx : idxs) sql.push_back(create_index_sql(table, idx));
        change("create_table", fmt::format("create table {} ({} columns)", table, cols.size()),
               Risk::safe, std::move(sql));
        return;
    }
    std::map<std::string, core::ColumnInfo> live_cols;
    for (const auto& c : live->columns) live_cols[c.name] = c;

    std::vector<const DesiredColumn*> added;
    std::vector<std::pair<const DesiredColumn*, std::string>> retyped;
    std::vector<std::string> dropped;
    for (const auto& c : cols) {
        auto it = live_cols.find(c.name);
        if (it == live_cols.end()) {
            added.push_back(&c);
        } else if (d.normalize_type(it->second.type) != d.normalize_type(c.type)) {
            retyped.emplace_back(&c, it->second.type);
        }
    }
    for (const auto& c : live->columns) {
        if (std::none_of(cols.begin(), cols.end(),
                         [&](const DesiredColumn& dc) { return dc.name == c.name; })) {
            dropped.push_back(c.name);
        }
    }

    for (const auto* c : added) {
        std::string sql = fmt::format("ALTER TABLE {} ADD COLUMN {} {}", quote_ident(table),
                                      quote_ident(c->name), c->type);
        if (c->constraint.find("DEFAULT") != std::string::npos) sql += " " + c->constraint;
        change("add_column", fmt::format("add column {}.{} {}", table, c->name, c->type),
               Risk::safe, {sql});
    }

    bool rebuild = !d.supports_alter_column_type() && (!retyped.empty() || !dropped.empty());
    if (rebuild) {
        // SQLite cannot change a column type, and cannot drop indexed columns: rebuild the table
        // with the desired shape, copying the columns both shapes share.
        std::string tmp = "m_rebuild_" + table;
        std::vector<std::string> common;
        for (const auto& c : cols) {
            if (live_cols.count(c.name)) common.push_back(quote_ident(c.name));
        }
        std::vector<std::string> sql{
            create_table_sql(tmp, cols),
            fmt::format("INSERT INTO {} ({}) SELECT {} FROM {}", quote_ident(tmp),
                        fmt::join(common, ", "), fmt::join(common, ", "), quote_ident(table)),
        };
        // SQLite keeps a value it cannot convert (type affinity), so "abc" would stay in an
        // integer column. The plan promises that values which do not fit are lost: clear them.
        for (const auto& [c, old] : retyped) {
            static const std::vector<std::string> numeric{"int",     "real",    "floa",   "doub",
                                                          "numeric", "decimal", "boolean"};
            bool is_numeric =
                std::any_of(numeric.begin(), numeric.end(), [&](const std::string& n) {
                    return c->type.find(n) != std::string::npos;
                });
            if (is_numeric) {
                sql.push_back(fmt::format("UPDATE {} SET {} = NULL WHERE typeof({}) NOT IN "
                                          "('integer', 'real', 'null')",
                                          quote_ident(tmp), quote_ident(c->name),
                                          quote_ident(c->name)));
            }
        }
        sql.push_back(fmt::format("DROP TABLE {}", quote_ident(table)));
        sql.push_back(
            fmt::format("ALTER TABLE {} RENAME TO {}", quote_ident(tmp), quote_ident(table)));
        for (const auto& idx : idxs) sql.push_back(create_index_sql(table, idx));
        std::vector<std::string> what;
        for (const auto& [c, old] : retyped) {
            what.push_back(fmt::format("change {} from {} to {}", c->name, old, c->type));
        }
        for (const auto& name : dropped) what.push_back(fmt::format("drop column {}", name));
        change("rebuild_table",
               fmt::format("rebuild table {}: {} (values that do not fit are lost)", table,
                           fmt::join(what, ", ")),
               Risk::breaking, std::move(sql));
        return; // the rebuild creates every index
    }
    for (const auto& [c, old] : retyped) {
        change("alter_type",
               fmt::format("change {}.{} from {} to {} (values that do not convert fail or are "
                           "lost)",
                           table, c->name, old, c->type),
               Risk::breaking, {d.alter_column_type_sql(table, c->name, c->type)});
    }
    for (const auto& name : dropped) {
        change(
            "drop_column", fmt::format("drop column {}.{} and its data", table, name),
            Risk::breaking,
            {fmt::format("ALTER TABLE {} DROP COLUMN {}", quote_ident(table), quote_ident(name))});
    }

    std::map<std::string, core::IndexInfo> live_idx;
    for (const auto& i : live->indexes) live_idx[i.name] = i;
    for (const auto& idx : idxs) {
        auto it = live_idx.find(idx.name);
        if (it != live_idx.end() && it->second.columns == idx.columns &&
            it->second.unique == idx.unique) {
            continue;
        }
        std::vector<std::string> sql;
        if (it != live_idx.end())
            sql.push_back(fmt::format("DROP INDEX {}", quote_ident(idx.name)));
        sql.push_back(create_index_sql(table, idx));
        if (idx.unique) {
            change("add_unique_index",
                   fmt::format("add unique index {} on {}({}) (fails if existing rows repeat a "
                               "value)",
                               idx.name, table, fmt::join(idx.columns, ", ")),
                   Risk::warning, std::move(sql));
        } else {
            change("add_index",
                   fmt::format("add index {} on {}({})", idx.name, table,
                               fmt::join(idx.columns, ", ")),
                   Risk::safe, std::move(sql));
        }
    }
    for (const auto& [name, info] : live_idx) {
        if (!managed_index(name, table)) continue;
        if (std::any_of(idxs.begin(), idxs.end(),
                        [&](const DesiredIndex& i) { return i.name == name; })) {
            continue;
        }
        change("drop_index",
               fmt::format("drop {}index {} on {}({})", info.unique ? "unique " : "", name, table,
                           fmt::join(info.columns, ", ")),
               Risk::warning, {fmt::format("DROP INDEX {}", quote_ident(name))});
    }
}

std::vector<Change> Migrator::plan_sync(core::Session& s) {
    std::vector<std::string> tables;
    for (const auto& dt : m_meta.all()) tables.push_back(dt->table_name());
    auto live = m_db.dialect().describe_tables(s, tables);
    std::vector<Change> out;
    for (const auto& dt : m_meta.all()) {
        auto it = live.find(dt->table_name());
        plan_doctype(*dt, it == live.end() ? nullptr : &it->second, out);
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
        // NNNN_slug.sql runs on both databases; NNNN_slug.<dialect>.sql only on that one.
        static const std::regex re(R"(^(\d{4})_([a-z0-9_]+)(?:\.(sqlite|postgres))?\.sql$)");
        std::map<std::string, fs::path> files;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            std::string fname = entry.path().filename().string();
            std::smatch mt;
            if (!std::regex_match(fname, mt, re)) continue;
            if (mt[3].matched && mt[3].str() != dialect) continue;
            std::string version = mt[1];
            if (files.count(version) && !mt[3].matched) continue; // dialect file wins
            files[version] = entry.path();
        }
        for (const auto& [version, path] : files) {
            if (applied.count(version)) continue;
            std::string sql = read_file(path);
            Change c;
            c.kind = "app";
            c.doctype = app;
            c.action = "run_migration";
            c.name = path.filename().string();
            c.description = fmt::format("app migration apps/{}/migrations/{}", app, c.name);
            c.risk = Risk::warning; // hand-written SQL: review it
            c.sql = {sql};
            c.version = version;
            c.checksum = sha256_hex(sql);
            out.push_back(std::move(c));
        }
    }
    return out;
}

Plan Migrator::plan(const std::string& what) {
    auto s = m_db.session();
    bool init = m_db.dialect().describe_table(*s, "m_migrations").has_value();
    Plan p;
    auto append = [&](std::vector<Change> v) {
        for (auto& c : v) p.changes.push_back(std::move(c));
    };
    append(plan_system(*s, init));
    if (what == "all" || what == "sync") append(plan_sync(*s));
    if (what == "all" || what == "run") append(plan_apps(*s, init));
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
    for (const auto& c : plan.changes) {
        for (const auto& sql : c.sql) {
            try {
                s->execute_script(sql);
            } catch (const Error& e) {
                throw Error(e.kind() == ErrorKind::internal ? ErrorKind::validation : e.kind(),
                            fmt::format("migration failed at '{}' ({}), nothing was applied: {}",
                                        c.description, c.doctype, e.what()));
            }
        }
        if (c.kind == "system" || c.kind == "app") {
            s->execute(fmt::format("INSERT INTO m_migrations (app, version, name, checksum, "
                                   "applied_at) VALUES ({}, {}, {}, {}, {})",
                                   d.placeholder(1), d.placeholder(2), d.placeholder(3),
                                   d.placeholder(4), d.placeholder(5)),
                       {c.doctype, c.version, c.name, c.checksum, now});
        }
        s->execute(
            fmt::format("INSERT INTO m_migration_history (applied_at, doctype, action, risk, "
                        "statement) VALUES ({}, {}, {}, {}, {})",
                        d.placeholder(1), d.placeholder(2), d.placeholder(3), d.placeholder(4),
                        d.placeholder(5)),
            {now, c.doctype, c.action, std::string(to_string(c.risk)),
             fmt::format("{}", fmt::join(c.sql, ";\n"))});
    }
    uow.commit();
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
        h.kind = h.action == "run_migration" ? "versioned" : "sync";
        h.risk = row[3].value_or("");
        out.push_back(std::move(h));
    }
    return out;
}

} // namespace m::migrations
