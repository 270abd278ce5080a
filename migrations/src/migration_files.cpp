// The app migration file: its sections (`-- migrate:up` / `-- migrate:down`), the statements that
// may not appear in them, its name, and the template `m migrate create` writes.
#include "migration_files.hpp"

#include "m/core/doctype_loader.hpp"
#include "m/core/error.hpp"
#include "m/core/values.hpp"
#include "m/migrations/migrator.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

namespace m::migrations {

namespace fs = std::filesystem;
using core::Error;
using core::ErrorKind;

namespace {

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

/// Refuses what `m migrate create` cannot create: an unknown app, the app "m" (the framework's
/// name in m_migrations) and an unknown dialect.
void check_migration_target(const fs::path& project_root, const std::string& app,
                            const std::string& dialect) {
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
}

/// The number of the new migration in `dir`: one more than the newest, except for the missing
/// counterpart of a dialect file of the newest number with the same slug, which shares it.
int next_migration_number(const fs::path& dir, const std::string& slug,
                          const std::string& dialect) {
    // The newest number and what its files are: a dialect file whose counterpart for the other
    // database is missing shares its number, so the pair replaces one another per database.
    int newest = 0;
    std::vector<std::pair<std::string, std::string>> newest_files; // slug, dialect ("" = both)
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::string fname = entry.path().filename().string();
        std::smatch mt;
        if (!std::regex_match(fname, mt, detail::app_migration_re())) continue;
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
    return number;
}

/// The text of a new migration: what it is and the rules of the house, then empty sections.
std::string migration_template(const std::string& message, const std::string& version,
                               const std::string& app, const std::string& dialect) {
    std::string title;
    for (char c : message) title += c == '\n' || c == '\r' ? ' ' : c;
    return fmt::format(
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
}

/// Writes `content` to a file that must not exist yet.
void write_new_file(const fs::path& path, const std::string& content) {
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
}

} // namespace

namespace detail {

const std::regex& app_migration_re() {
    // NNNN_slug.sql runs on both databases; NNNN_slug.<dialect>.sql only on that one.
    static const std::regex re(R"(^(\d{4})_([a-z0-9_]+)(?:\.(sqlite|postgres))?\.sql$)");
    return re;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool has_statement(std::string_view sql) {
    return !statement_heads(sql).empty();
}

} // namespace detail

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
    out.has_down = detail::has_statement(out.down);
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
    check_migration_target(project_root, app, dialect);
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
    const int number = next_migration_number(dir, slug, dialect);
    if (number > 9999) {
        throw Error(ErrorKind::validation,
                    fmt::format("app '{}' has used every migration number up to 9999", app));
    }
    const std::string version = fmt::format("{:04}", number);
    const fs::path path =
        dir / fmt::format("{}_{}{}.sql", version, slug, dialect.empty() ? "" : "." + dialect);
    write_new_file(path, migration_template(message, version, app, dialect));
    return path;
}

} // namespace m::migrations
