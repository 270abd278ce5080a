#include "m/core/database.hpp"

#include "m/core/error.hpp"
#include "m/core/values.hpp"

#include <fmt/format.h>

namespace m::core {

std::string quote_ident(std::string_view ident) {
    if (ident.empty()) throw Error(ErrorKind::internal, "empty SQL identifier");
    for (char c : ident) {
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) {
            throw Error(ErrorKind::internal,
                        "refusing SQL identifier '" + std::string(ident) + "'");
        }
    }
    std::string out;
    out.reserve(ident.size() + 2);
    out += '"';
    out += ident;
    out += '"';
    return out;
}

std::optional<std::int64_t> ResultSet::optional_integer(std::size_t row, std::size_t column) const {
    if (row >= rows.size() || column >= rows[row].size() || !rows[row][column]) {
        return std::nullopt;
    }
    const std::string& text = *rows[row][column];
    if (auto n = parse_integer(text)) return n;
    throw Error(ErrorKind::internal,
                fmt::format("column '{}' is not an integer: '{}'",
                            column < columns.size() ? columns[column] : std::to_string(column),
                            text.substr(0, 40)));
}

std::int64_t ResultSet::integer(std::size_t row, std::size_t column, std::int64_t fallback) const {
    return optional_integer(row, column).value_or(fallback);
}

void Database::ping() {
    session()->query("SELECT 1");
}

long long Database::next_counter(Session& current, const std::string& key) {
    auto rs =
        current.query("INSERT INTO m_series (name, current) VALUES (" + dialect().placeholder(1) +
                          ", 1) ON CONFLICT (name) DO UPDATE SET current = m_series.current + "
                          "1 RETURNING current",
                      {key});
    auto n = rs.optional_integer(0, 0);
    if (!n) throw Error(ErrorKind::internal, "naming counter returned nothing");
    return *n;
}

std::map<std::string, TableInfo>
SqlDialect::describe_tables(Session& session, const std::vector<std::string>& tables) const {
    std::map<std::string, TableInfo> out;
    for (const auto& t : tables) {
        if (auto info = describe_table(session, t)) out.emplace(t, std::move(*info));
    }
    return out;
}

std::optional<long long> SqlDialect::estimated_rows(Session&, std::string_view) const {
    return std::nullopt;
}

} // namespace m::core
