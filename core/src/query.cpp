#include "m/core/query.hpp"

#include "m/core/json_input.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace m::core {

namespace {

struct OpName {
    std::string_view name;
    FilterOp op;
};

constexpr std::array k_ops{
    OpName{"eq", FilterOp::eq},
    OpName{"=", FilterOp::eq},
    OpName{"ne", FilterOp::ne},
    OpName{"!=", FilterOp::ne},
    OpName{"<>", FilterOp::ne},
    OpName{"lt", FilterOp::lt},
    OpName{"<", FilterOp::lt},
    OpName{"lte", FilterOp::lte},
    OpName{"<=", FilterOp::lte},
    OpName{"gt", FilterOp::gt},
    OpName{">", FilterOp::gt},
    OpName{"gte", FilterOp::gte},
    OpName{">=", FilterOp::gte},
    OpName{"in", FilterOp::in},
    OpName{"not_in", FilterOp::not_in},
    OpName{"not in", FilterOp::not_in},
    OpName{"like", FilterOp::like},
    OpName{"not_like", FilterOp::not_like},
    OpName{"not like", FilterOp::not_like},
    OpName{"is_null", FilterOp::is_null},
    OpName{"is_not_null", FilterOp::is_not_null},
    OpName{"between", FilterOp::between},
};

std::string shorten(const std::string& s) {
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

const Field& field_for(const DocType& dt, const std::string& name, const char* what) {
    const Field* f = dt.find(name);
    if (!f || !f->has_column()) {
        throw Error(ErrorKind::validation, fmt::format("DocType '{}': {}: unknown field '{}'",
                                                       dt.name, what, shorten(name)));
    }
    return *f;
}

Json coerce_for_filter(const DocType& dt, const Field& f, const Json& v) {
    try {
        return coerce_value(f, v);
    } catch (const Error& e) {
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}': filter on {}", dt.name, e.what()));
    }
}

/// Frappe's "a,b,c" form of an in / not_in list.
Json comma_list(const std::string& s) {
    Json list = Json::array();
    std::string item;
    for (char c : s + ",") {
        if (c == ',') {
            if (!item.empty()) list.push_back(item);
            item.clear();
        } else if (!(item.empty() && c == ' ')) {
            item += c;
        }
    }
    return list;
}

/// What a filter of operator `op` compares with, coerced to the field's type.
Json filter_value(const DocType& dt, const Field& f, const std::string& field,
                  const std::string& op_name, FilterOp op, const Json& value, bool has_value) {
    switch (op) {
    case FilterOp::is_null:
    case FilterOp::is_not_null:
        return nullptr;
    case FilterOp::in:
    case FilterOp::not_in: {
        const Json list = value.is_string() ? comma_list(value.get<std::string>()) : value;
        if (!list.is_array() || list.empty()) {
            throw Error(ErrorKind::validation,
                        fmt::format("DocType '{}': filter on '{}': '{}' needs a non-empty list",
                                    dt.name, field, op_name));
        }
        Json out = Json::array();
        for (const auto& item : list) out.push_back(coerce_for_filter(dt, f, item));
        return out;
    }
    case FilterOp::between:
        if (!value.is_array() || value.size() != 2) {
            throw Error(ErrorKind::validation,
                        fmt::format("DocType '{}': filter on '{}': 'between' needs [low, high]",
                                    dt.name, field));
        }
        return Json::array(
            {coerce_for_filter(dt, f, value[0]), coerce_for_filter(dt, f, value[1])});
    case FilterOp::like:
    case FilterOp::not_like:
        if (!value.is_string()) {
            throw Error(ErrorKind::validation,
                        fmt::format("DocType '{}': filter on '{}': '{}' needs a string pattern",
                                    dt.name, field, op_name));
        }
        return value;
    default:
        if (!has_value || value.is_null()) {
            throw Error(ErrorKind::validation,
                        fmt::format("DocType '{}': filter on '{}': '{}' needs a value (use is_null "
                                    "to match empty fields)",
                                    dt.name, field, op_name));
        }
        return coerce_for_filter(dt, f, value);
    }
}

Filter make_filter(const DocType& dt, const std::string& field, const std::string& op_name,
                   const Json& value, bool has_value) {
    const Field& f = field_for(dt, field, "filter");
    Filter out;
    out.field = field;
    auto it = std::find_if(k_ops.begin(), k_ops.end(),
                           [&](const OpName& o) { return o.name == op_name; });
    if (op_name == "is") {
        // Frappe: ["field", "is", "set" | "not set"]
        if (value == "set")
            out.op = FilterOp::is_not_null;
        else if (value == "not set")
            out.op = FilterOp::is_null;
        else
            throw Error(ErrorKind::validation,
                        fmt::format("DocType '{}': filter on '{}': operator 'is' takes \"set\" or "
                                    "\"not set\"",
                                    dt.name, field));
        return out;
    }
    if (it == k_ops.end()) {
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}': filter on '{}': unknown operator '{}' (use eq ne lt "
                                "lte gt gte in not_in like not_like is_null is_not_null between)",
                                dt.name, field, shorten(op_name)));
    }
    out.op = it->op;
    if (f.type == FieldType::password) {
        throw Error(
            ErrorKind::validation,
            fmt::format("DocType '{}': cannot filter on password field '{}'", dt.name, field));
    }
    if (f.type == FieldType::json && out.op != FilterOp::is_null &&
        out.op != FilterOp::is_not_null) {
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}': json field '{}' only supports is_null/is_not_null",
                                dt.name, field));
    }
    out.value = filter_value(dt, f, field, op_name, out.op, value, has_value);
    return out;
}

std::string trim(std::string_view s) {
    auto b = s.find_first_not_of(" \t\n");
    if (b == std::string_view::npos) return {};
    auto e = s.find_last_not_of(" \t\n");
    return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> split_commas(std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto comma = text.find(',', start);
        auto part =
            trim(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
        if (!part.empty()) out.push_back(part);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return out;
}

} // namespace

std::string_view to_string(FilterOp op) noexcept {
    for (const auto& o : k_ops) {
        if (o.op == op && o.name.find_first_of("=<>! ") == std::string_view::npos) return o.name;
    }
    return "eq";
}

std::vector<Filter> parse_filters(const DocType& dt, const Json& filters) {
    std::vector<Filter> out;
    if (filters.is_null()) return out;
    if (filters.is_object()) {
        for (const auto& [field, value] : filters.items()) {
            if (value.is_array() && value.size() == 2 && value[0].is_string()) {
                out.push_back(make_filter(dt, field, value[0].get<std::string>(), value[1], true));
            } else {
                out.push_back(make_filter(dt, field, "eq", value, true));
            }
        }
        return out;
    }
    if (!filters.is_array()) {
        throw Error(ErrorKind::validation, "filters must be a JSON list or object");
    }
    for (const auto& item : filters) {
        if (item.is_object()) {
            for (const auto& [key, _] : item.items()) {
                if (key != "field" && key != "operator" && key != "value") {
                    throw Error(ErrorKind::validation,
                                fmt::format("filter: unknown key '{}' (use field, operator, value)",
                                            shorten(key)));
                }
            }
            if (!item.contains("field") || !item.at("field").is_string()) {
                throw Error(ErrorKind::validation, "filter: missing \"field\"");
            }
            std::string op = "eq";
            if (item.contains("operator")) {
                if (!item.at("operator").is_string()) {
                    throw Error(ErrorKind::validation, "filter: \"operator\" must be a string");
                }
                op = item.at("operator").get<std::string>();
            }
            bool has_value = item.contains("value");
            out.push_back(make_filter(dt, item.at("field").get<std::string>(), op,
                                      has_value ? item.at("value") : Json(nullptr), has_value));
        } else if (item.is_array()) {
            // [field, op, value] or [doctype, field, op, value]
            std::size_t base = item.size() == 4 ? 1 : 0;
            if (item.size() < 2 || item.size() > 4) {
                throw Error(ErrorKind::validation, "filter: expected [field, operator, value]");
            }
            if (base == 1 && item[0] != Json(dt.name)) {
                throw Error(ErrorKind::validation,
                            fmt::format("filter: DocType '{}' does not match '{}'",
                                        shorten(item[0].dump()), dt.name));
            }
            if (!item[base].is_string() || !item[base + 1].is_string()) {
                throw Error(ErrorKind::validation, "filter: field and operator must be strings");
            }
            bool has_value = item.size() > base + 2;
            out.push_back(make_filter(dt, item[base].get<std::string>(),
                                      item[base + 1].get<std::string>(),
                                      has_value ? item[base + 2] : Json(nullptr), has_value));
        } else {
            throw Error(ErrorKind::validation,
                        "filter: each filter must be an object or a [field, operator, value] list");
        }
    }
    return out;
}

std::vector<Filter> parse_filters_text(const DocType& dt, std::string_view text) {
    if (trim(text).empty()) return {};
    check_json_nesting(text, "filters");
    Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded()) throw Error(ErrorKind::validation, "filters: malformed JSON");
    return parse_filters(dt, j);
}

std::vector<OrderBy> parse_order_by(const DocType& dt, std::string_view text) {
    std::vector<OrderBy> out;
    for (const auto& part : split_commas(text)) {
        OrderBy ob;
        std::string spec = part;
        if (!spec.empty() && (spec[0] == '-' || spec[0] == '+')) {
            ob.descending = spec[0] == '-';
            spec = trim(spec.substr(1));
        }
        auto space = spec.find(' ');
        // The field first: "name; DROP TABLE x" is refused for its field, not its direction.
        field_for(dt, spec.substr(0, space), "order_by");
        if (space != std::string::npos) {
            std::string dir = trim(spec.substr(space + 1));
            std::string low = dir;
            std::transform(low.begin(), low.end(), low.begin(), ::tolower);
            if (low == "desc")
                ob.descending = true;
            else if (low == "asc")
                ob.descending = false;
            else
                throw Error(ErrorKind::validation,
                            fmt::format("order_by: '{}' is not asc or desc", shorten(dir)));
            spec = spec.substr(0, space);
        }
        if (field_for(dt, spec, "order_by").type == FieldType::password) {
            // Sorting by the hash would tell, row by row, how the hashes compare.
            throw Error(
                ErrorKind::validation,
                fmt::format("DocType '{}': cannot order by password field '{}'", dt.name, spec));
        }
        ob.field = spec;
        out.push_back(ob);
    }
    return out;
}

std::vector<std::string> parse_fields(const DocType& dt, std::string_view text) {
    std::vector<std::string> names;
    std::string t = trim(text);
    if (t.empty()) return names;
    if (t[0] == '[') {
        check_json_nesting(t, "fields");
        Json j = Json::parse(t, nullptr, false);
        if (j.is_discarded() || !j.is_array()) {
            throw Error(ErrorKind::validation, "fields: malformed JSON list");
        }
        for (const auto& item : j) {
            if (!item.is_string())
                throw Error(ErrorKind::validation, "fields: names must be strings");
            names.push_back(item.get<std::string>());
        }
    } else {
        names = split_commas(t);
    }
    std::vector<std::string> out;
    auto add = [&](const std::string& n) {
        if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    };
    add("id");
    add("name");
    for (const auto& n : names) {
        const Field& f = field_for(dt, n, "fields");
        if (f.type == FieldType::password) {
            throw Error(
                ErrorKind::validation,
                fmt::format("DocType '{}': fields: password field '{}' is write-only", dt.name, n));
        }
        add(n);
    }
    return out;
}

std::optional<CountMode> parse_count_mode(std::string_view text) {
    if (text == "exact") return CountMode::exact;
    if (text == "estimated") return CountMode::estimated;
    if (text == "none") return CountMode::none;
    return std::nullopt;
}

Json ListResult::to_json() const {
    Json j = Json::object();
    j["items"] = Json::array();
    for (const auto& item : items) j["items"].push_back(item);
    j["total"] = total ? Json(*total) : Json(nullptr);
    j["limit"] = limit;
    j["offset"] = offset;
    j["has_more"] = has_more;
    return j;
}

} // namespace m::core
