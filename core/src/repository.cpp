#include "m/core/repository.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>

namespace m::core {

namespace {

const Field& column_of(const DocType& dt, const std::string& name) {
    const Field* f = dt.find(name);
    if (!f || !f->has_column()) {
        throw Error(ErrorKind::internal,
                    fmt::format("DocType '{}' has no column '{}'", dt.name, name));
    }
    return *f;
}

} // namespace

std::string Repository::select_list(const DocType& dt,
                                    const std::vector<std::string>& fields) const {
    std::string out;
    auto add = [&](const Field& f) {
        if (f.type == FieldType::password) return; // write-only
        if (!out.empty()) out += ", ";
        out += quote_ident(f.name);
    };
    if (fields.empty()) {
        for (const auto& f : dt.columns()) add(f);
    } else {
        for (const auto& name : fields) add(column_of(dt, name));
    }
    return out;
}

Json Repository::row_to_json(const DocType& dt, const ResultSet& rs, std::size_t row) const {
    Json out = Json::object();
    for (std::size_t c = 0; c < rs.columns.size(); ++c) {
        const Field& f = column_of(dt, rs.columns[c]);
        out[f.name] = from_sql(f, rs.rows[row][c]);
    }
    return out;
}

void Repository::insert(Session& session, const DocType& dt, const Json& row) const {
    std::string cols, marks;
    SqlParams params;
    for (const auto& f : dt.columns()) {
        auto it = row.find(f.name);
        if (it == row.end()) continue;
        if (!cols.empty()) {
            cols += ", ";
            marks += ", ";
        }
        cols += quote_ident(f.name);
        params.push_back(to_sql(f, *it));
        marks += m_dialect.placeholder(static_cast<int>(params.size()));
    }
    session.execute(
        fmt::format("INSERT INTO {} ({}) VALUES ({})", quote_ident(dt.table_name()), cols, marks),
        params);
}

std::optional<Json> Repository::find(Session& session, const DocType& dt, const std::string& column,
                                     const std::string& value,
                                     const std::vector<std::string>& fields) const {
    column_of(dt, column);
    auto rs = session.query(fmt::format("SELECT {} FROM {} WHERE {} = {}", select_list(dt, fields),
                                        quote_ident(dt.table_name()), quote_ident(column),
                                        m_dialect.placeholder(1)),
                            {value});
    if (rs.empty()) return std::nullopt;
    return row_to_json(dt, rs, 0);
}

std::int64_t Repository::update(Session& session, const DocType& dt, const std::string& id,
                                const Json& changes,
                                const std::optional<std::string>& expected_modified) const {
    std::string sets;
    SqlParams params;
    for (const auto& [name, value] : changes.items()) {
        const Field& f = column_of(dt, name);
        if (!sets.empty()) sets += ", ";
        params.push_back(to_sql(f, value));
        sets += fmt::format("{} = {}", quote_ident(f.name),
                            m_dialect.placeholder(static_cast<int>(params.size())));
    }
    if (sets.empty()) return 1;
    params.push_back(id);
    std::string sql =
        fmt::format("UPDATE {} SET {} WHERE {} = {}", quote_ident(dt.table_name()), sets,
                    quote_ident("id"), m_dialect.placeholder(static_cast<int>(params.size())));
    if (expected_modified) {
        params.push_back(*expected_modified);
        sql += fmt::format(" AND {} = {}", quote_ident("modified"),
                           m_dialect.placeholder(static_cast<int>(params.size())));
    }
    return session.execute(sql, params);
}

std::int64_t Repository::remove(Session& session, const DocType& dt, const std::string& id) const {
    return session.execute(fmt::format("DELETE FROM {} WHERE {} = {}", quote_ident(dt.table_name()),
                                       quote_ident("id"), m_dialect.placeholder(1)),
                           {id});
}

Repository::Where Repository::where_clause(const DocType& dt, const std::vector<Filter>& filters,
                                           std::size_t first_param) const {
    Where w;
    auto param = [&](const Field& f, const Json& v) {
        w.params.push_back(to_sql(f, v));
        return m_dialect.placeholder(static_cast<int>(first_param + w.params.size() - 1));
    };
    for (const auto& flt : filters) {
        const Field& f = column_of(dt, flt.field);
        std::string col = quote_ident(f.name);
        std::string cond;
        switch (flt.op) {
        case FilterOp::eq:
            cond = fmt::format("{} = {}", col, param(f, flt.value));
            break;
        case FilterOp::ne:
            // SQL's <> never matches NULL; users expect "not equal" to include empty fields.
            cond = fmt::format("({} <> {} OR {} IS NULL)", col, param(f, flt.value), col);
            break;
        case FilterOp::lt:
            cond = fmt::format("{} < {}", col, param(f, flt.value));
            break;
        case FilterOp::lte:
            cond = fmt::format("{} <= {}", col, param(f, flt.value));
            break;
        case FilterOp::gt:
            cond = fmt::format("{} > {}", col, param(f, flt.value));
            break;
        case FilterOp::gte:
            cond = fmt::format("{} >= {}", col, param(f, flt.value));
            break;
        case FilterOp::in:
        case FilterOp::not_in: {
            std::string marks;
            for (const auto& v : flt.value) {
                if (!marks.empty()) marks += ", ";
                marks += param(f, v);
            }
            cond = flt.op == FilterOp::in
                       ? fmt::format("{} IN ({})", col, marks)
                       : fmt::format("({} NOT IN ({}) OR {} IS NULL)", col, marks, col);
            break;
        }
        case FilterOp::like:
        case FilterOp::not_like: {
            // Case-insensitive on both databases, as Frappe users expect.
            Field text_field;
            text_field.name = f.name;
            text_field.type = FieldType::text;
            std::string expr = fmt::format("LOWER({})", m_dialect.cast_to_text(col));
            std::string mark = param(text_field, flt.value);
            cond = flt.op == FilterOp::like
                       ? fmt::format("{} LIKE LOWER({})", expr, mark)
                       : fmt::format("({} NOT LIKE LOWER({}) OR {} IS NULL)", expr, mark, col);
            break;
        }
        case FilterOp::is_null:
            cond = fmt::format("{} IS NULL", col);
            break;
        case FilterOp::is_not_null:
            cond = fmt::format("{} IS NOT NULL", col);
            break;
        case FilterOp::between: {
            std::string lo = param(f, flt.value[0]);
            std::string hi = param(f, flt.value[1]);
            cond = fmt::format("{} BETWEEN {} AND {}", col, lo, hi);
            break;
        }
        }
        w.sql += w.sql.empty() ? " WHERE " : " AND ";
        w.sql += cond;
    }
    return w;
}

std::vector<Json> Repository::list(Session& session, const DocType& dt, const ListQuery& q) const {
    Where w = where_clause(dt, q.filters, 1);
    std::string order;
    auto add_order = [&](const std::string& field, bool desc) {
        column_of(dt, field);
        order += order.empty() ? " ORDER BY " : ", ";
        order += quote_ident(field) + (desc ? " DESC" : " ASC");
    };
    if (q.order_by.empty()) {
        add_order(dt.sort_field, dt.sort_order == "desc");
    } else {
        for (const auto& ob : q.order_by) add_order(ob.field, ob.descending);
    }
    // A unique tie-breaker makes paging stable.
    order += ", " + quote_ident("id") + " ASC";
    std::string sql = fmt::format("SELECT {} FROM {}{}{}", select_list(dt, q.fields),
                                  quote_ident(dt.table_name()), w.sql, order);
    SqlParams params = w.params;
    if (q.limit >= 0) {
        params.push_back(static_cast<std::int64_t>(q.limit));
        sql += " LIMIT " + m_dialect.placeholder(static_cast<int>(params.size()));
        params.push_back(static_cast<std::int64_t>(q.offset));
        sql += " OFFSET " + m_dialect.placeholder(static_cast<int>(params.size()));
    } else if (q.offset > 0) {
        throw Error(ErrorKind::validation, "offset needs a limit");
    }
    auto rs = session.query(sql, params);
    std::vector<Json> out;
    out.reserve(rs.size());
    for (std::size_t i = 0; i < rs.size(); ++i) out.push_back(row_to_json(dt, rs, i));
    return out;
}

long long Repository::count(Session& session, const DocType& dt,
                            const std::vector<Filter>& filters) const {
    Where w = where_clause(dt, filters, 1);
    auto rs = session.query(
        fmt::format("SELECT COUNT(*) FROM {}{}", quote_ident(dt.table_name()), w.sql), w.params);
    return rs.integer(0, 0);
}

bool Repository::exists(Session& session, const DocType& dt, const std::string& column,
                        const Json& value, const std::string& exclude_id) const {
    const Field& f = column_of(dt, column);
    SqlParams params{to_sql(f, value)};
    std::string sql = fmt::format("SELECT 1 FROM {} WHERE {} = {}", quote_ident(dt.table_name()),
                                  quote_ident(column), m_dialect.placeholder(1));
    if (!exclude_id.empty()) {
        params.push_back(exclude_id);
        sql += fmt::format(" AND {} <> {}", quote_ident("id"), m_dialect.placeholder(2));
    }
    sql += " LIMIT 1";
    return !session.query(sql, params).empty();
}

std::vector<Json> Repository::children(Session& session, const DocType& child,
                                       const std::string& parent_id,
                                       const std::string& parent_field) const {
    auto rs = session.query(fmt::format("SELECT {} FROM {} WHERE {} = {} AND {} = {} ORDER BY {}",
                                        select_list(child, {}), quote_ident(child.table_name()),
                                        quote_ident("parent_id"), m_dialect.placeholder(1),
                                        quote_ident("parent_field"), m_dialect.placeholder(2),
                                        quote_ident("idx")),
                            {parent_id, parent_field});
    std::vector<Json> out;
    for (std::size_t i = 0; i < rs.size(); ++i) out.push_back(row_to_json(child, rs, i));
    return out;
}

std::int64_t Repository::delete_children(Session& session, const DocType& child,
                                         const std::string& parent_id,
                                         const std::string& parent_field) const {
    SqlParams params{parent_id};
    std::string sql = fmt::format("DELETE FROM {} WHERE {} = {}", quote_ident(child.table_name()),
                                  quote_ident("parent_id"), m_dialect.placeholder(1));
    if (!parent_field.empty()) {
        params.push_back(parent_field);
        sql += fmt::format(" AND {} = {}", quote_ident("parent_field"), m_dialect.placeholder(2));
    }
    return session.execute(sql, params);
}

} // namespace m::core
