// Building a document's values from a client's input and checking them against the metadata:
// coercion by type, required fields, the declarative constraints, links, child rows, passwords
// and unique values. Every failure goes into one FieldErrors with where it is, so all of a
// document's errors are reported together (docs/reference/doctypes.md, "Validation").
#include "m/core/document_service.hpp"

#include "document_internal.hpp"

#include "m/core/accounts.hpp"
#include "m/core/core_app.hpp"
#include "m/core/error.hpp"
#include "m/core/field_errors.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>

namespace m::core {

namespace detail {

bool is_empty_value(const Json& v) {
    return v.is_null() || (v.is_string() && v.get_ref<const std::string&>().empty()) ||
           (v.is_array() && v.empty());
}

} // namespace detail

namespace {

using detail::is_empty_value;

/// 8-4-4-4-12 hexadecimal digits, as new_uuid() makes them.
bool is_uuid(const std::string& s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

/// A field pattern, compiled once per process (patterns come from metadata, so the set is small;
/// the loader has checked that each one compiles).
const std::regex& compiled_pattern(const std::string& pattern) {
    static std::mutex mutex;
    static std::map<std::string, std::unique_ptr<const std::regex>> cache;
    std::lock_guard lock(mutex);
    auto& slot = cache[pattern];
    if (!slot) slot = std::make_unique<const std::regex>(pattern, std::regex::ECMAScript);
    return *slot;
}

std::size_t utf8_length(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

void check_text(const Field& f, const std::string& s, FieldErrors& errors, const FieldPath& at) {
    std::size_t len = utf8_length(s);
    std::size_t max =
        f.max_length ? static_cast<std::size_t>(*f.max_length)
        : (f.type == FieldType::data || f.type == FieldType::select || f.type == FieldType::link)
            ? 140
            : 0;
    if (max && len > max) {
        errors.add(at, f.name, FieldErrorCode::too_long,
                   fmt::format("field '{}': longer than {} characters", f.name, max));
    }
    if (f.min_length && len < static_cast<std::size_t>(*f.min_length) && !s.empty()) {
        errors.add(at, f.name, FieldErrorCode::too_short,
                   fmt::format("field '{}': shorter than {} characters", f.name, *f.min_length));
    }
    if (!f.pattern.empty() && !s.empty() && !std::regex_search(s, compiled_pattern(f.pattern))) {
        errors.add(
            at, f.name, FieldErrorCode::pattern,
            fmt::format("field '{}': '{}' does not match the pattern {}", f.name, s, f.pattern));
    }
}

void check_number(const Field& f, const Json& v, FieldErrors& errors, const FieldPath& at) {
    double d = v.get<double>();
    if (f.min && d < *f.min) {
        errors.add(
            at, f.name, FieldErrorCode::below_minimum,
            fmt::format("field '{}': {} is less than the minimum {}", f.name, v.dump(), *f.min));
    }
    if (f.max && d > *f.max) {
        errors.add(
            at, f.name, FieldErrorCode::above_maximum,
            fmt::format("field '{}': {} is more than the maximum {}", f.name, v.dump(), *f.max));
    }
    if (f.type == FieldType::decimal && std::fabs(d) >= 1e12) {
        errors.add(at, f.name, FieldErrorCode::out_of_range,
                   fmt::format("field '{}': {} is too large (at most 12 digits before the point)",
                               f.name, v.dump()));
    }
}

/// Declarative checks on one coerced value.
void check_constraints(const Field& f, const Json& v, FieldErrors& errors, const FieldPath& at) {
    if (v.is_string()) check_text(f, v.get_ref<const std::string&>(), errors, at);
    if (v.is_number()) check_number(f, v, errors, at);
}

} // namespace

Json DocumentService::build_rows(Session& session, const Field& table, const Json& value,
                                 FieldErrors& errors) const {
    const DocType& child = m_meta.get(table.options);
    Json rows = Json::array();
    std::set<std::string> row_ids;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const Json& row = value[i];
        const FieldPath at = FieldPath::row_of(table.name, static_cast<long long>(i) + 1);
        if (!row.is_object()) {
            errors.add(at, {}, FieldErrorCode::bad_row, "must be an object");
            continue;
        }
        for (const auto& [key, _] : row.items()) {
            if (!child.find(key)) {
                errors.add(at, key, FieldErrorCode::unknown_field,
                           fmt::format("unknown field '{}'", key));
            }
        }
        Json built = build_fields(session, child, row, nullptr, errors, at);
        if (auto id = row.find("id"); id != row.end() && !id->is_null()) {
            // A row keeps its id across saves; a new one may bring its own, but only a UUID,
            // once per document (the database would refuse a duplicate with its own text).
            if (!id->is_string() || !is_uuid(id->get<std::string>())) {
                errors.add(at, {}, FieldErrorCode::bad_row, "id must be a UUID");
            } else if (!row_ids.insert(id->get<std::string>()).second) {
                errors.add(at, {}, FieldErrorCode::bad_row,
                           "duplicate row id " + id->get<std::string>());
            } else {
                built["id"] = *id;
            }
        }
        rows.push_back(std::move(built));
    }
    return rows;
}

Json DocumentService::build_fields(Session& session, const DocType& dt, const Json& input,
                                   const Json* existing, FieldErrors& errors,
                                   const FieldPath& at) const {
    Json doc = Json::object();
    for (const auto& f : dt.fields) {
        bool given = input.contains(f.name);
        Json value;
        if (given) {
            value = input.at(f.name);
        } else if (existing && existing->contains(f.name)) {
            doc[f.name] = existing->at(f.name);
            continue;
        } else if (!existing && !f.default_value.is_null()) {
            value = to_ordered(f.default_value);
        } else {
            value = f.type == FieldType::table ? Json::array() : Json(nullptr);
        }
        try {
            value = coerce_value(f, value);
        } catch (const Error& e) {
            errors.add(at, f.name, FieldErrorCode::invalid, e.what());
            continue;
        }
        if (f.type == FieldType::table) value = build_rows(session, f, value, errors);
        if (f.required && is_empty_value(value)) {
            errors.add(at, f.name, FieldErrorCode::required,
                       fmt::format("field '{}' is required", f.name));
        }
        check_constraints(f, value, errors, at);
        if (f.type == FieldType::link && value.is_string() && !value.get<std::string>().empty() &&
            (given || !existing)) {
            const DocType& target = m_meta.get(f.options);
            if (!m_repo.exists(session, target, "name", value)) {
                errors.add(at, f.name, FieldErrorCode::link_not_found,
                           fmt::format("field '{}': {} '{}' does not exist", f.name, target.name,
                                       value.get<std::string>()));
            }
        }
        if (f.type == FieldType::password && given && value.is_string()) {
            Json email = input.value("email", existing ? existing->value("email", Json(nullptr))
                                                       : Json(nullptr));
            try {
                check_password_policy(value.get<std::string>(),
                                      dt.name == k_user_doctype && email.is_string()
                                          ? email.get<std::string>()
                                          : std::string());
                value = hash_password(value.get<std::string>());
            } catch (const Error& e) {
                errors.add(at, f.name, FieldErrorCode::invalid,
                           fmt::format("field '{}': {}", f.name, e.what()));
            }
        }
        doc[f.name] = std::move(value);
    }
    return doc;
}

void DocumentService::recheck(const DocType& dt, Json& doc, FieldErrors& errors,
                              const FieldPath& at) const {
    // Hooks may change the document; what they wrote must still fit the metadata.
    for (const auto& f : dt.fields) {
        auto it = doc.find(f.name);
        if (it == doc.end()) continue;
        try {
            *it = coerce_value(f, *it);
        } catch (const Error& e) {
            errors.add(at, f.name, FieldErrorCode::invalid, e.what());
            continue;
        }
        if (f.type == FieldType::table) {
            const DocType& child = m_meta.get(f.options);
            for (std::size_t i = 0; i < it->size(); ++i) {
                recheck(child, (*it)[i], errors,
                        FieldPath::row_of(f.name, static_cast<long long>(i) + 1));
            }
        }
    }
}

void DocumentService::check_unique(Session& session, const DocType& dt, const Json& doc,
                                   const std::string& self_id) const {
    for (const auto& f : dt.fields) {
        if (!f.unique) continue;
        auto it = doc.find(f.name);
        if (it == doc.end() || is_empty_value(*it)) continue;
        if (m_repo.exists(session, dt, f.name, *it, self_id)) {
            // details.field lets a form put the message on the field (the Desk does).
            throw Error(
                ErrorKind::conflict,
                fmt::format("DocType '{}': field '{}': value {} already exists", dt.name, f.name,
                            it->dump()),
                nlohmann::json{{"reason", "duplicate_value"},
                               {"field", f.name},
                               {"message", fmt::format("value {} already exists", it->dump())}});
        }
    }
}

} // namespace m::core
