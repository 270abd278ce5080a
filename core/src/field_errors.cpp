#include "m/core/field_errors.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>

namespace m::core {

const char* to_string(FieldErrorCode code) noexcept {
    switch (code) {
    case FieldErrorCode::required:
        return "required";
    case FieldErrorCode::unknown_field:
        return "unknown_field";
    case FieldErrorCode::invalid:
        return "invalid";
    case FieldErrorCode::too_long:
        return "too_long";
    case FieldErrorCode::too_short:
        return "too_short";
    case FieldErrorCode::pattern:
        return "pattern";
    case FieldErrorCode::below_minimum:
        return "below_minimum";
    case FieldErrorCode::above_maximum:
        return "above_maximum";
    case FieldErrorCode::out_of_range:
        return "out_of_range";
    case FieldErrorCode::link_not_found:
        return "link_not_found";
    case FieldErrorCode::not_editable:
        return "not_editable";
    case FieldErrorCode::bad_row:
        return "bad_row";
    case FieldErrorCode::hook:
        return "hook";
    }
    return "invalid";
}

std::string FieldPath::prefix() const {
    return table.empty() ? std::string() : fmt::format("field '{}' row {}: ", table, row);
}

nlohmann::json FieldError::to_json() const {
    nlohmann::json j = nlohmann::json::object();
    j["field"] = field.empty() ? nlohmann::json(nullptr) : nlohmann::json(field);
    j["row"] = row > 0 ? nlohmann::json(row) : nlohmann::json(nullptr);
    j["child"] = child.empty() ? nlohmann::json(nullptr) : nlohmann::json(child);
    j["code"] = to_string(code);
    j["message"] = message;
    return j;
}

void FieldErrors::add(const FieldPath& at, const std::string& field, FieldErrorCode code,
                      const std::string& text) {
    FieldError e;
    if (at.table.empty()) {
        e.field = field;
    } else {
        e.field = at.table;
        e.row = at.row;
        e.child = field;
    }
    e.code = code;
    e.text = at.prefix() + text;
    // The checks write "field '<name>': <what>"; the location goes into the members.
    const std::string own = field.empty() ? std::string() : "field '" + field + "': ";
    e.message = !own.empty() && text.rfind(own, 0) == 0 ? text.substr(own.size()) : text;
    m_items.push_back(std::move(e));
}

void FieldErrors::raise(const std::string& doctype) const {
    std::string joined;
    nlohmann::json details = nlohmann::json::array();
    for (const auto& e : m_items) {
        if (!joined.empty()) joined += "; ";
        joined += e.text;
        details.push_back(e.to_json());
    }
    throw Error(ErrorKind::validation, fmt::format("DocType '{}': {}", doctype, joined),
                std::move(details));
}

Error field_error(const std::string& field, const std::string& message, long long row,
                  const std::string& child) {
    FieldErrors one;
    one.add(row > 0 ? FieldPath::row_of(field, row) : FieldPath::document(),
            row > 0 ? child : field, FieldErrorCode::hook, message);
    return Error(ErrorKind::validation, message,
                 nlohmann::json::array({one.items().front().to_json()}));
}

} // namespace m::core
