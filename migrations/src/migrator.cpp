#include "m/migrations/migrator.hpp"

#include "m/core/crypto.hpp"
#include "m/core/doctype_loader.hpp"
#include "m/core/error.hpp"
#include "m/core/values.hpp"
#include "m/migrations/system_sql.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace m::migrations {

using core::sha256_hex;

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

bool is_word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

/// The first word (uppercase) of every statement of a script that has one, skipping comments,
/// quoted strings and identifiers and PostgreSQL dollar-quoted bodies, so that a ';' or a
/// "COMMIT" inside them does not count. A statement that starts with punctuation yields "".
std::vector<std::string> statement_heads(std::string_view sql) {
    std::vector<std::string> heads;
    bool in_statement = false;
    std::size_t i = 0;
    const std::size_t n = sql.size();
    auto skip_to = [&](std::string_view end) {
        auto at = sql.find(end, i);
        i = at == std::string_view::npos ? n : at + end.size();
    };
    while (i < n) {
        char c = sql[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
            skip_to("\n");
        } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
            i += 2;
            skip_to("*/");
        } else if (c == ';') {
            in_statement = false;
            ++i;
        } else {
            if (!in_statement) {
                in_statement = true;
                std::string head;
                while (i < n && is_word_char(sql[i])) {
                    head += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i])));
                    ++i;
                }
                heads.push_back(std::move(head));
                continue;
            }
            if (c == '\'' || c == '"') {
                ++i;
                skip_to(std::string_view(&sql[i - 1], 1)); // '' inside a string reopens it
            } else if (c == '$') {
                // $$ or $tag$ opens a dollar-quoted body (PostgreSQL) that ends at the same tag.
                std::size_t j = i + 1;
                while (j < n && is_word_char(sql[j])) ++j;
                if (j < n && sql[j] == '$' &&
                    (j == i + 1 || !std::isdigit(static_cast<unsigned char>(sql[i + 1])))) {
                    std::string tag(sql.substr(i, j - i + 1));
                    i = j + 1;
                    skip_to(tag);
                } else {
                    i = j;
                }
            } else {
                ++i;
            }
        }
    }
    return heads;
}

bool has_statement(std::string_view sql) {
    return !statement_heads(sql).empty();
}

/// Refuses transaction control in a migration section: it runs inside m's own transaction.
void refuse_transaction_control(std::string_view sql, std::string_view source,
                                std::string_view section) {
    // Not END: on SQLite it also closes a CREATE TRIGGER body (... BEGIN ...; END;).
    static const std::set<std::string> control{"BEGIN",   "COMMIT", "ROLLBACK", "SAVEPOINT",
                                               "RELEASE", "START",  "ABORT"};
    auto heads = statement_heads(sql);
    for (std::size_t k = 0; k < heads.size(); ++k) {
        if (control.count(heads[k])) {
            throw Error(ErrorKind::validation,
                        fmt::format("{}: statement {} of the {} section is {}; a migration runs "
                                    "inside the transaction of `m migrate` and may not begin, "
                                    "commit or roll back one",
                                    source, k + 1, section, heads[k]));
        }
    }
}

/// "-- migrate:up" / "-- migrate:down" (any case, spaces allowed after "--"); else "".
std::string marker_of(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (line.substr(i, 2) != "--") return "";
    i += 2;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::string rest;
    for (char c : line.substr(i))
        rest += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back()))) rest.pop_back();
    if (rest == "migrate:up") return "up";
    if (rest == "migrate:down") return "down";
    return "";
}

const std::regex& app_migration_re() {
    // NNNN_slug.sql runs on both databases; NNNN_slug.<dialect>.sql only on that one.
    static const std::regex re(R"(^(\d{4})_([a-z0-9_]+)(?:\.(sqlite|postgres))?\.sql$)");
    return re;
}

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

MigrationSections parse_migration(std::string_view text, std::string_view source) {
    MigrationSections out;
    bool seen_up = false, seen_down = false;
    std::string* section = &out.up;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        std::size_t stop = end == std::string_view::npos ? text.size() : end + 1;
        std::string_view line = text.substr(start, stop - start);
        start = stop;
        std::string marker = marker_of(line);
        if (marker.empty()) {
            *section += line;
            continue;
        }
        bool& seen = marker == "up" ? seen_up : seen_down;
        if (seen) {
            throw Error(
                ErrorKind::validation,
                fmt::format("{}: the marker '-- migrate:{}' appears twice", source, marker));
        }
        seen = true;
        section = marker == "up" ? &out.up : &out.down;
    }
    refuse_transaction_control(out.up, source, "up");
    refuse_transaction_control(out.down, source, "down");
    out.has_down = has_statement(out.down);
    return out;
}

std::string migration_slug(std::string_view message) {
    std::string slug;
    for (char c : message) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x80 && std::isalnum(u)) {
            slug += static_cast<char>(std::tolower(u));
        } else if (!slug.empty() && slug.back() != '_') {
            slug += '_';
        }
    }
    if (slug.size() > 50) slug.resize(50);
    while (!slug.empty() && slug.back() == '_') slug.pop_back();
    return slug;
}

fs::path create_migration(const fs::path& project_root, const std::string& app,
                          const std::string& message, const std::string& dialect) {
    if (!core::is_valid_app_name(app) ||
        !fs::is_regular_file(project_root / "apps" / app / "app.json")) {
        throw Error(
            ErrorKind::not_found,
            fmt::format("app '{}' does not exist (create it with `m new app {}`)", app, app));
    }
    if (app == "m") {
        throw Error(ErrorKind::validation, "app 'm' cannot have migrations: m_migrations records "
                                           "the framework's own under that name");
    }
    if (!dialect.empty() && dialect != "sqlite" && dialect != "postgres") {
        throw Error(ErrorKind::validation,
                    fmt::format("unknown dialect '{}' (use sqlite or postgres)", dialect));
    }
    const std::string slug = migration_slug(message);
    if (slug.empty()) {
        throw Error(ErrorKind::validation,
                    fmt::format("migration message '{}' has no letters or digits to name the "
                                "file with",
                                message));
    }
    const fs::path dir = project_root / "apps" / app / "migrations";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        throw Error(ErrorKind::unavailable,
                    fmt::format("cannot create folder {}: {}", dir.string(), ec.message()));
    }
    // The newest number and what its files are: a dialect file whose counterpart for the other
    // database is missing shares its number, so the pair replaces one another per database.
    int newest = 0;
    std::vector<std::pair<std::string, std::string>> newest_files; // slug, dialect ("" = both)
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::string fname = entry.path().filename().string();
        std::smatch mt;
        if (!std::regex_match(fname, mt, app_migration_re())) continue;
        // The pattern matched digits; more than an int holds is no migration number.
        const auto parsed = core::parse_integer(mt[1].str());
        if (!parsed || *parsed > std::numeric_limits<int>::max()) continue;
        const int number = static_cast<int>(*parsed);
        if (number > newest) {
            newest = number;
            newest_files.clear();
        }
        if (number == newest) newest_files.emplace_back(mt[2].str(), mt[3].str());
    }
    int number = newest + 1;
    if (!dialect.empty() && newest > 0) {
        bool same_slug = false, taken = false;
        for (const auto& [file_slug, file_dialect] : newest_files) {
            if (file_dialect.empty() || file_dialect == dialect) taken = true;
            if (file_slug == slug) same_slug = true;
        }
        if (same_slug && !taken) number = newest;
    }
    if (number > 9999) {
        throw Error(ErrorKind::validation,
                    fmt::format("app '{}' has used every migration number up to 9999", app));
    }
    const std::string version = fmt::format("{:04}", number);
    const fs::path path =
        dir / fmt::format("{}_{}{}.sql", version, slug, dialect.empty() ? "" : "." + dialect);
    std::string title;
    for (char c : message) title += c == '\n' || c == '\r' ? ' ' : c;
    const std::string content = fmt::format(
        R"(-- {title}
-- Migration {version} of app '{app}', created {created} UTC; runs on {where}.
-- `m migrate` runs pending migrations in number order, after the framework's own and before the
-- schema sync, all in one transaction: if a statement fails, nothing of the run is applied.
-- Do not write BEGIN/COMMIT here. Once applied, do not edit this file (`m migrate verify`
-- reports a changed checksum); write a new migration instead.

-- migrate:up
-- The SQL that makes the change, for example:
-- UPDATE customer SET status = 'Open' WHERE status IS NULL;


-- migrate:down
-- The SQL that undoes the up section, run by `m migrate rollback`. It is stored when the
-- migration is applied. Without a statement here the migration cannot be rolled back.

)",
        fmt::arg("title", title), fmt::arg("version", version), fmt::arg("app", app),
        fmt::arg("created", core::now_timestamp().substr(0, 19)),
        fmt::arg("where", dialect.empty() ? "SQLite and PostgreSQL" : dialect + " only"));
    // "x": never replace a file, even one created between the scan and now.
    std::FILE* f = std::fopen(path.c_str(), "wx");
    if (!f) {
        if (errno == EEXIST) {
            throw Error(ErrorKind::conflict,
                        fmt::format("migration file '{}' already exists; refusing to overwrite",
                                    path.string()));
        }
        throw Error(ErrorKind::unavailable,
                    fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
    }
    bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
    ok = std::fclose(f) == 0 && ok;
    if (!ok) throw Error(ErrorKind::unavailable, fmt::format("cannot write {}", path.string()));
    return path;
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
        struct Found {
            fs::path path;
            bool for_dialect = false;
        };
        std::map<std::string, Found> files;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            std::string fname = entry.path().filename().string();
            std::smatch mt;
            if (!std::regex_match(fname, mt, app_migration_re())) continue;
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

std::vector<Change> Migrator::plan_sync_after(core::Session& s,
                                              const std::vector<Change>& app_changes) {
    // App migrations may reshape DocType tables (a rename the sync would otherwise see as a drop
    // and an add), so the sync part of the plan is the diff after them: run them in a
    // transaction that is always rolled back.
    try {
        core::UnitOfWork dry_run(s);
        for (const auto& c : app_changes) {
            for (const auto& sql : c.sql) {
                if (has_statement(sql)) s.execute_script(sql);
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
