// List queries: filters, fields, ordering and paging, checked against the metadata.
//
// Everything here comes from users (CLI flags, later HTTP query strings). Field names are checked
// against the DocType, operators against a closed list, values coerced by field type. The result
// is safe to turn into SQL: names are identifiers from metadata, values become bound parameters.
#pragma once

#include "m/core/doctype.hpp"
#include "m/core/values.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace m::core {

enum class FilterOp {
    eq,
    ne,
    lt,
    lte,
    gt,
    gte,
    in,
    not_in,
    like,
    not_like,
    is_null,
    is_not_null,
    between
};

std::string_view to_string(FilterOp op) noexcept;

struct Filter {
    std::string field;
    FilterOp op = FilterOp::eq;
    Json value; ///< canonical; a list for in/not_in/between; null for is_null/is_not_null
};

struct OrderBy {
    std::string field;
    bool descending = false;
};

struct ListQuery {
    std::vector<Filter> filters;
    std::vector<std::string> fields; ///< empty = every column of the DocType
    std::vector<OrderBy> order_by;   ///< empty = the DocType's sort_field/sort_order
    long long limit = 20;
    long long offset = 0;
};

/// Parses filters given as JSON: `[{"field","operator","value"}]`, Frappe's
/// `[["field","op","value"]]` (also with the DocType first), or `{"field": value}` (equality).
/// Operators: eq ne lt lte gt gte in not_in like not_like is_null is_not_null between, and the
/// Frappe spellings = != < <= > >= "not in" "not like" is. Throws Error{validation}.
std::vector<Filter> parse_filters(const DocType& doctype, const Json& filters);

/// Parses filters from text (JSON); an empty string means no filters.
std::vector<Filter> parse_filters_text(const DocType& doctype, std::string_view text);

/// Parses "-modified,name" or "modified desc, name asc". Throws Error{validation}.
std::vector<OrderBy> parse_order_by(const DocType& doctype, std::string_view text);

/// Parses "a,b" or a JSON array of names; checks each against the DocType. `name` and `id` are
/// always included. Throws Error{validation}.
std::vector<std::string> parse_fields(const DocType& doctype, std::string_view text);

enum class CountMode { exact, estimated, none };

/// "exact", "estimated" or "none" → the mode; nullopt for anything else.
std::optional<CountMode> parse_count_mode(std::string_view text);

/// One page of a list.
struct ListResult {
    std::vector<Json> items;
    std::optional<long long> total; ///< nullopt with CountMode::none
    long long limit = 0;
    long long offset = 0;
    bool has_more = false;

    /// {"items","total","limit","offset","has_more"} as the HTTP API answers.
    Json to_json() const;
};

} // namespace m::core
