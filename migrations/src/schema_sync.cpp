// The sync part of a migration plan: the schema the DocType metadata asks for (columns, indexes),
// diffed against the live tables, as graded changes with the SQL that makes them.
#include "migration_files.hpp"

#include "m/core/crypto.hpp"
#include "m/core/error.hpp"
#include "m/migrations/migrator.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <utility>

namespace m::migrations {

using core::Error;
using core::ErrorKind;
using core::quote_ident;
using core::sha256_hex;

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

/// Collects the sync changes of one DocType.
struct SyncChanges {
    const std::string& doctype;
    std::vector<Change>& out;

    void add(std::string action, std::string desc, Risk risk, std::vector<std::string> sql) const {
        Change c;
        c.kind = "sync";
        c.doctype = doctype;
        c.action = std::move(action);
        c.description = std::move(desc);
        c.risk = risk;
        c.sql = std::move(sql);
        out.push_back(std::move(c));
    }
};

/// How a live table's columns differ from the desired ones.
struct ColumnDiff {
    std::map<std::string, core::ColumnInfo> live; ///< the live columns by name
    std::vector<const DesiredColumn*> added;
    std::vector<std::pair<const DesiredColumn*, std::string>> retyped; ///< with the live type
    std::vector<std::string> dropped;
};

ColumnDiff diff_columns(const std::vector<DesiredColumn>& cols, const core::TableInfo& live,
                        const core::SqlDialect& d) {
    ColumnDiff diff;
    for (const auto& c : live.columns) diff.live[c.name] = c;
    for (const auto& c : cols) {
        auto it = diff.live.find(c.name);
        if (it == diff.live.end()) {
            diff.added.push_back(&c);
        } else if (d.normalize_type(it->second.type) != d.normalize_type(c.type)) {
            diff.retyped.emplace_back(&c, it->second.type);
        }
    }
    for (const auto& c : live.columns) {
        if (std::none_of(cols.begin(), cols.end(),
                         [&](const DesiredColumn& dc) { return dc.name == c.name; })) {
            diff.dropped.push_back(c.name);
        }
    }
    return diff;
}

void plan_create_table(const std::string& table, const std::vector<DesiredColumn>& cols,
                       const std::vector<DesiredIndex>& idxs, const SyncChanges& changes) {
    std::vector<std::string> sql{create_table_sql(table, cols)};
    for (const auto& idx : idxs) sql.push_back(create_index_sql(table, idx));
    changes.add("create_table", fmt::format("create table {} ({} columns)", table, cols.size()),
                Risk::safe, std::move(sql));
}

void plan_added_columns(const std::string& table, const ColumnDiff& diff,
                        const SyncChanges& changes) {
    for (const auto* c : diff.added) {
        std::string sql = fmt::format("ALTER TABLE {} ADD COLUMN {} {}", quote_ident(table),
                                      quote_ident(c->name), c->type);
        if (c->constraint.find("DEFAULT") != std::string::npos) sql += " " + c->constraint;
        changes.add("add_column", fmt::format("add column {}.{} {}", table, c->name, c->type),
                    Risk::safe, {sql});
    }
}

/// The statements that rebuild `table` in the desired shape, copying the columns both shapes
/// share, with every index.
std::vector<std::string> rebuild_sql(const std::string& table,
                                     const std::vector<DesiredColumn>& cols,
                                     const std::vector<DesiredIndex>& idxs,
                                     const ColumnDiff& diff) {
    std::string tmp = "m_rebuild_" + table;
    std::vector<std::string> common;
    for (const auto& c : cols) {
        if (diff.live.count(c.name)) common.push_back(quote_ident(c.name));
    }
    std::vector<std::string> sql{
        create_table_sql(tmp, cols),
        fmt::format("INSERT INTO {} ({}) SELECT {} FROM {}", quote_ident(tmp),
                    fmt::join(common, ", "), fmt::join(common, ", "), quote_ident(table)),
    };
    // SQLite keeps a value it cannot convert (type affinity), so "abc" would stay in an
    // integer column. The plan promises that values which do not fit are lost: clear them.
    for (const auto& [c, old] : diff.retyped) {
        static const std::vector<std::string> numeric{"int",     "real",    "floa",   "doub",
                                                      "numeric", "decimal", "boolean"};
        bool is_numeric = std::any_of(numeric.begin(), numeric.end(), [&](const std::string& n) {
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
    sql.push_back(fmt::format("ALTER TABLE {} RENAME TO {}", quote_ident(tmp), quote_ident(table)));
    for (const auto& idx : idxs) sql.push_back(create_index_sql(table, idx));
    return sql;
}

/// SQLite cannot change a column type, and cannot drop indexed columns: the table is rebuilt
/// with the desired shape instead.
void plan_rebuild(const std::string& table, const std::vector<DesiredColumn>& cols,
                  const std::vector<DesiredIndex>& idxs, const ColumnDiff& diff,
                  const SyncChanges& changes) {
    std::vector<std::string> what;
    for (const auto& [c, old] : diff.retyped) {
        what.push_back(fmt::format("change {} from {} to {}", c->name, old, c->type));
    }
    for (const auto& name : diff.dropped) what.push_back(fmt::format("drop column {}", name));
    changes.add("rebuild_table",
                fmt::format("rebuild table {}: {} (values that do not fit are lost)", table,
                            fmt::join(what, ", ")),
                Risk::breaking, rebuild_sql(table, cols, idxs, diff));
}

void plan_retyped_and_dropped(const std::string& table, const ColumnDiff& diff,
                              const core::SqlDialect& d, const SyncChanges& changes) {
    for (const auto& [c, old] : diff.retyped) {
        changes.add("alter_type",
                    fmt::format("change {}.{} from {} to {} (values that do not convert fail or "
                                "are lost)",
                                table, c->name, old, c->type),
                    Risk::breaking, {d.alter_column_type_sql(table, c->name, c->type)});
    }
    for (const auto& name : diff.dropped) {
        changes.add(
            "drop_column", fmt::format("drop column {}.{} and its data", table, name),
            Risk::breaking,
            {fmt::format("ALTER TABLE {} DROP COLUMN {}", quote_ident(table), quote_ident(name))});
    }
}

/// Indexes to (re)create, and the indexes m made that the metadata no longer asks for.
void plan_indexes(const std::string& table, const std::vector<DesiredIndex>& idxs,
                  const core::TableInfo& live, const SyncChanges& changes) {
    std::map<std::string, core::IndexInfo> live_idx;
    for (const auto& i : live.indexes) live_idx[i.name] = i;
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
            changes.add("add_unique_index",
                        fmt::format("add unique index {} on {}({}) (fails if existing rows "
                                    "repeat a value)",
                                    idx.name, table, fmt::join(idx.columns, ", ")),
                        Risk::warning, std::move(sql));
        } else {
            changes.add("add_index",
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
        changes.add("drop_index",
                    fmt::format("drop {}index {} on {}({})", info.unique ? "unique " : "", name,
                                table, fmt::join(info.columns, ", ")),
                    Risk::warning, {fmt::format("DROP INDEX {}", quote_ident(name))});
    }
}

} // namespace

void Migrator::plan_doctype(const core::DocType& dt, const core::TableInfo* live,
                            std::vector<Change>& out) {
    const auto& d = m_db.dialect();
    const std::string table = dt.table_name();
    const auto cols = desired_columns(dt, d);
    const auto idxs = desired_indexes(dt);
    const SyncChanges changes{dt.name, out};
    if (!live) {
        plan_create_table(table, cols, idxs, changes);
        return;
    }
    const ColumnDiff diff = diff_columns(cols, *live, d);
    plan_added_columns(table, diff, changes);
    if (!d.supports_alter_column_type() && (!diff.retyped.empty() || !diff.dropped.empty())) {
        plan_rebuild(table, cols, idxs, diff, changes);
        return; // the rebuild creates every index
    }
    plan_retyped_and_dropped(table, diff, d, changes);
    plan_indexes(table, idxs, *live, changes);
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

std::vector<Change> Migrator::plan_sync_after(core::Session& s,
                                              const std::vector<Change>& app_changes) {
    // App migrations may reshape DocType tables (a rename the sync would otherwise see as a drop
    // and an add), so the sync part of the plan is the diff after them: run them in a
    // transaction that is always rolled back.
    try {
        core::UnitOfWork dry_run(s);
        for (const auto& c : app_changes) {
            for (const auto& sql : c.sql) {
                if (detail::has_statement(sql)) s.execute_script(sql);
            }
        }
        return plan_sync(s);
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::cancelled || e.kind() == ErrorKind::unavailable) throw;
        // A failing migration fails the apply that runs it; until then the plan shows the
        // diff against the schema as it is.
    }
    return plan_sync(s);
}

} // namespace m::migrations
