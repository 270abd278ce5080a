// The generic repository: SQL for any DocType, built from its metadata.
//
// One class serves every DocType (no per-DocType code). It turns canonical documents into
// INSERT/UPDATE/DELETE/SELECT with bound parameters, using only identifiers from the metadata.
// It does no validation beyond that; rules live in the document service above it.
#pragma once

#include "m/core/database.hpp"
#include "m/core/doctype.hpp"
#include "m/core/query.hpp"
#include "m/core/values.hpp"

#include <optional>
#include <string>
#include <vector>

namespace m::core {

class Repository {
public:
    explicit Repository(const SqlDialect& dialect) : m_dialect(dialect) {}

    /// Inserts one row; `row` holds canonical values keyed by column name (missing = NULL).
    void insert(Session& session, const DocType& doctype, const Json& row) const;

    /// The row whose `column` (id or name) equals `value`, with `fields` (empty = all columns),
    /// or nullopt.
    std::optional<Json> find(Session& session, const DocType& doctype, const std::string& column,
                             const std::string& value,
                             const std::vector<std::string>& fields = {}) const;

    /// Updates the given columns of row `id`. When `expected_modified` is set, the row is only
    /// changed if its `modified` still has that value. Returns the number of rows changed.
    std::int64_t update(Session& session, const DocType& doctype, const std::string& id,
                        const Json& changes,
                        const std::optional<std::string>& expected_modified = std::nullopt) const;

    /// Deletes row `id`; returns the number of rows deleted.
    std::int64_t remove(Session& session, const DocType& doctype, const std::string& id) const;

    /// Rows matching the query (filters, fields, order, limit/offset). limit < 0 = no limit.
    std::vector<Json> list(Session& session, const DocType& doctype, const ListQuery& query) const;

    /// Number of rows matching the filters.
    long long count(Session& session, const DocType& doctype,
                    const std::vector<Filter>& filters) const;

    /// Whether another row (id != exclude_id) has `value` in `column`.
    bool exists(Session& session, const DocType& doctype, const std::string& column,
                const Json& value, const std::string& exclude_id = {}) const;

    /// Child rows of a parent's table field, ordered by idx.
    std::vector<Json> children(Session& session, const DocType& child, const std::string& parent_id,
                               const std::string& parent_field) const;

    /// Deletes the child rows of a parent (of one table field, or all when parent_field is empty).
    std::int64_t delete_children(Session& session, const DocType& child,
                                 const std::string& parent_id,
                                 const std::string& parent_field = {}) const;

    const SqlDialect& dialect() const noexcept { return m_dialect; }

private:
    struct Where {
        std::string sql;
        SqlParams params;
    };
    Where where_clause(const DocType& doctype, const std::vector<Filter>& filters,
                       std::size_t first_param) const;
    std::string select_list(const DocType& doctype, const std::vector<std::string>& fields) const;
    Json row_to_json(const DocType& doctype, const ResultSet& rs, std::size_t row) const;

    const SqlDialect& m_dialect;
};

} // namespace m::core
