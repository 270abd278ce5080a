// PostgresDialect: type spelling and catalog introspection. Talks to the server only through the
// core::Session port, so this file needs no libpqxx.
#include "m/adapters/postgres/postgres_database.hpp"

#include "m/core/doctype.hpp"
#include "m/core/error.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <utility>

namespace m::adapters::postgres {

namespace {

using core::Error;
using core::ErrorKind;

constexpr int k_default_varchar_length = 140;
constexpr int k_default_decimal_scale = 9;

/// Lowercases, turns any blank run into one space, trims, and drops blanks next to "(", ")" and
/// "," so that "Numeric (21, 9)" becomes "numeric(21,9)".
std::string squeeze(std::string_view type) {
    std::string out;
    out.reserve(type.size());
    bool pending_space = false;
    for (char c : type) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            pending_space = !out.empty();
            continue;
        }
        const bool punct = c == '(' || c == ')' || c == ',';
        if (pending_space && !punct && out.back() != '(' && out.back() != ',') out += ' ';
        pending_space = false;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

/// Canonical name of a type without its modifiers ("int8" -> "bigint").
std::string_view canonical_base(std::string_view base) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 12> k_synonyms{{
        {"character varying", "varchar"},
        {"character", "char"},
        {"bpchar", "char"},
        {"int8", "bigint"},
        {"int4", "integer"},
        {"int", "integer"},
        {"int2", "smallint"},
        {"float8", "double precision"},
        {"float", "double precision"},
        {"float4", "real"},
        {"bool", "boolean"},
        {"decimal", "numeric"},
    }};
    for (const auto& [from, to] : k_synonyms) {
        if (base == from) return to;
    }
    return base;
}

/// normalize_type on an already squeezed spelling without a trailing "[]".
std::string normalize_scalar(std::string_view type) {
    // "timestamp(3) with time zone" carries its modifier before the zone clause: strip the
    // clause first, then treat the rest like any "name(modifiers)".
    std::string_view zone_suffix;
    for (std::string_view clause : {" without time zone", " with time zone"}) {
        if (type.ends_with(clause)) {
            zone_suffix = clause;
            type.remove_suffix(clause.size());
            break;
        }
    }
    const std::size_t paren = type.find('(');
    const std::string_view base = type.substr(0, paren);
    std::string modifiers(paren == std::string_view::npos ? "" : type.substr(paren));

    std::string name(canonical_base(base));
    const bool temporal = name == "timestamp" || name == "time";
    if (temporal && zone_suffix == " with time zone") name += "tz";
    if (temporal || name == "timestamptz" || name == "timetz") {
        if (modifiers == "(6)") modifiers.clear(); // 6 is PostgreSQL's default precision
    } else if (!zone_suffix.empty()) {
        return std::string(type) + std::string(zone_suffix); // not a type we know: keep it
    }
    return name + modifiers;
}

/// One cell as text, "" for NULL.
std::string cell(const std::optional<std::string>& value) {
    return value.value_or("");
}

/// Rebuilds a declared type from the information_schema.columns fields.
std::string rebuild_type(const std::vector<std::optional<std::string>>& row) {
    // Columns: data_type, udt_name, character_maximum_length, numeric_precision,
    // numeric_scale, datetime_precision (see the query in describe_table).
    const std::string data_type = cell(row[0]);
    const std::string udt_name = cell(row[1]);
    if (data_type == "USER-DEFINED") return udt_name;
    if (data_type == "ARRAY") {
        // udt_name of an array is the element's internal name prefixed with "_".
        return (udt_name.starts_with('_') ? udt_name.substr(1) : udt_name) + "[]";
    }
    if (row[2]) return fmt::format("{}({})", data_type, *row[2]);
    if (data_type == "numeric" && row[3]) {
        return fmt::format("numeric({},{})", *row[3], cell(row[4]));
    }
    if (row[5] && (data_type.starts_with("timestamp") || data_type.starts_with("time"))) {
        // "timestamp without time zone" -> "timestamp(3) without time zone".
        const std::size_t space = data_type.find(' ');
        return data_type.substr(0, space) + "(" + *row[5] + ")" +
               (space == std::string::npos ? "" : data_type.substr(space));
    }
    return data_type;
}

} // namespace

std::string PostgresDialect::name() const {
    return "postgres";
}

std::string PostgresDialect::placeholder(int n) const {
    return fmt::format("${}", n);
}

std::string PostgresDialect::column_type(const core::Field& field) const {
    using core::FieldType;
    switch (field.type) {
    case FieldType::data:
    case FieldType::select:
    case FieldType::link: {
        const int length = field.max_length && *field.max_length > k_default_varchar_length
                               ? *field.max_length
                               : k_default_varchar_length;
        return fmt::format("varchar({})", length);
    }
    case FieldType::text:
    case FieldType::password:
        return "text";
    case FieldType::int_:
        return "bigint";
    case FieldType::float_:
        return "double precision";
    case FieldType::decimal:
        return fmt::format("numeric(21,{})", field.precision.value_or(k_default_decimal_scale));
    case FieldType::check:
        return "boolean";
    case FieldType::date:
        return "date";
    case FieldType::datetime:
        return "timestamp";
    case FieldType::time:
        return "time";
    case FieldType::uuid:
        return "uuid";
    case FieldType::json:
        return "jsonb";
    case FieldType::table:
        break;
    }
    throw Error(ErrorKind::internal,
                "postgres: field '" + field.name + "' has no column (type table or unknown)");
}

std::string PostgresDialect::uuid_type() const {
    return "uuid";
}
std::string PostgresDialect::name_type() const {
    return "varchar(140)";
}
std::string PostgresDialect::timestamp_type() const {
    return "timestamp";
}
std::string PostgresDialect::integer_type() const {
    return "integer";
}

std::string PostgresDialect::normalize_type(std::string_view type) const {
    const std::string squeezed = squeeze(type);
    std::string_view rest = squeezed;
    int array_depth = 0;
    while (rest.ends_with("[]")) {
        rest.remove_suffix(2);
        ++array_depth;
    }
    std::string out = normalize_scalar(rest);
    for (int i = 0; i < array_depth; ++i) out += "[]";
    return out;
}

std::string PostgresDialect::cast_to_text(std::string_view expr) const {
    return "CAST(" + std::string(expr) + " AS text)";
}

bool PostgresDialect::supports_alter_column_type() const {
    return true;
}

std::string PostgresDialect::alter_column_type_sql(std::string_view table, std::string_view column,
                                                   std::string_view new_type) const {
    const std::string col = core::quote_ident(column);
    return fmt::format("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}::{}",
                       core::quote_ident(table), col, new_type, col, new_type);
}

std::vector<std::string> PostgresDialect::list_tables(core::Session& session) const {
    // relkind r = ordinary table, p = partitioned table; partitions belong to their parent.
    const core::ResultSet rs =
        session.query("SELECT c.relname::text FROM pg_catalog.pg_class c"
                      " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                      " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
                      " AND NOT c.relispartition ORDER BY c.relname");
    std::vector<std::string> tables;
    tables.reserve(rs.size());
    for (const auto& row : rs.rows) tables.push_back(cell(row[0]));
    return tables;
}

std::optional<core::TableInfo> PostgresDialect::describe_table(core::Session& session,
                                                               std::string_view table) const {
    auto all = describe_tables(session, {std::string(table)});
    auto it = all.find(std::string(table));
    if (it == all.end()) return std::nullopt;
    return std::move(it->second);
}

std::map<std::string, core::TableInfo>
PostgresDialect::describe_tables(core::Session& session,
                                 const std::vector<std::string>& tables) const {
    std::map<std::string, core::TableInfo> out;
    if (tables.empty()) return out;
    // The names travel as one text[] parameter ("{a,b}"); they are identifiers from metadata
    // ([A-Za-z0-9_] only), so the array literal needs no quoting.
    std::string names = "{";
    for (const auto& t : tables) {
        core::quote_ident(t); // refuses anything that would need quoting
        if (names.size() > 1) names += ',';
        names += t;
    }
    names += '}';
    const core::SqlParams params{names};

    const core::ResultSet columns = session.query(
        "SELECT c.data_type, c.udt_name, c.character_maximum_length, c.numeric_precision,"
        " c.numeric_scale, c.datetime_precision, c.column_name, c.is_nullable, c.table_name"
        " FROM information_schema.columns c"
        " JOIN pg_catalog.pg_class t ON t.relname = c.table_name AND t.relkind IN ('r', 'p')"
        " JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace AND n.nspname = c.table_schema"
        " WHERE c.table_schema = current_schema() AND c.table_name = ANY($1::text[])"
        " ORDER BY c.table_name, c.ordinal_position",
        params);
    for (const auto& row : columns.rows) {
        const std::string table = cell(row[8]);
        auto& info = out[table];
        info.name = table;
        info.columns.push_back(core::ColumnInfo{
            .name = cell(row[6]),
            .type = normalize_type(rebuild_type(row)),
            .not_null = cell(row[7]) == "NO",
        });
    }

    // One row per key column, in index order. Expression columns have attnum 0 and no
    // pg_attribute row, so they are shown as their expression; INCLUDE columns are skipped.
    const core::ResultSet indexes = session.query(
        "SELECT t.relname::text, i.relname::text, ix.indisunique,"
        " COALESCE(a.attname::text, pg_catalog.pg_get_indexdef(ix.indexrelid, k.ord::int, true))"
        " FROM pg_catalog.pg_index ix"
        " JOIN pg_catalog.pg_class i ON i.oid = ix.indexrelid"
        " JOIN pg_catalog.pg_class t ON t.oid = ix.indrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace"
        " CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)"
        " LEFT JOIN pg_catalog.pg_attribute a"
        "   ON a.attrelid = ix.indrelid AND a.attnum = k.attnum AND k.attnum > 0"
        " WHERE n.nspname = current_schema() AND t.relname = ANY($1::text[])"
        "   AND NOT ix.indisprimary AND k.ord <= ix.indnkeyatts"
        " ORDER BY t.relname, i.relname, k.ord",
        params);
    for (const auto& row : indexes.rows) {
        auto it = out.find(cell(row[0]));
        if (it == out.end()) continue;
        auto& info = it->second;
        const std::string index_name = cell(row[1]);
        if (info.indexes.empty() || info.indexes.back().name != index_name) {
            info.indexes.push_back(
                core::IndexInfo{.name = index_name, .columns = {}, .unique = cell(row[2]) == "t"});
        }
        info.indexes.back().columns.push_back(cell(row[3]));
    }
    return out;
}

std::optional<long long> PostgresDialect::estimated_rows(core::Session& session,
                                                         std::string_view table) const {
    // reltuples is -1 for a table that was never vacuumed or analysed (PostgreSQL 14+).
    auto rs = session.query("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass($1)",
                            {core::quote_ident(table)});
    auto n = rs.optional_integer(0, 0);
    if (!n || *n < 0) return std::nullopt;
    return *n;
}

} // namespace m::adapters::postgres
