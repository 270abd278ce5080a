#include "m/core/doctype.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>

namespace m::core {

namespace {

struct TypeName {
    FieldType type;
    std::string_view name;
};

constexpr std::array k_type_names{
    TypeName{FieldType::data, "data"},         TypeName{FieldType::text, "text"},
    TypeName{FieldType::int_, "int"},          TypeName{FieldType::float_, "float"},
    TypeName{FieldType::decimal, "decimal"},   TypeName{FieldType::check, "check"},
    TypeName{FieldType::date, "date"},         TypeName{FieldType::datetime, "datetime"},
    TypeName{FieldType::time, "time"},         TypeName{FieldType::uuid, "uuid"},
    TypeName{FieldType::json, "json"},         TypeName{FieldType::select, "select"},
    TypeName{FieldType::link, "link"},         TypeName{FieldType::table, "table"},
    TypeName{FieldType::password, "password"},
};

Field standard(std::string name, FieldType type, std::string label) {
    Field f;
    f.name = std::move(name);
    f.type = type;
    f.label = std::move(label);
    f.read_only = true;
    f.standard = true;
    return f;
}

} // namespace

std::string_view to_string(FieldType type) noexcept {
    for (const auto& t : k_type_names) {
        if (t.type == type) return t.name;
    }
    return "data";
}

std::optional<FieldType> parse_field_type(std::string_view name) noexcept {
    for (const auto& t : k_type_names) {
        if (t.name == name) return t.type;
    }
    return std::nullopt;
}

const std::vector<std::string>& field_type_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& t : k_type_names) out.emplace_back(t.name);
        return out;
    }();
    return names;
}

const std::vector<std::string>& standard_field_names() {
    static const std::vector<std::string> names{"id",       "name",        "owner",    "creation",
                                                "modified", "modified_by", "docstatus"};
    return names;
}

const std::vector<std::string>& child_standard_field_names() {
    static const std::vector<std::string> names{"parent_id", "parent_doctype", "parent_field",
                                                "idx"};
    return names;
}

std::string snake_case(std::string_view name) {
    std::string out;
    for (std::size_t i = 0; i < name.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(name[i]);
        if (c == ' ' || c == '-' || c == '_') {
            if (!out.empty() && out.back() != '_') out += '_';
            continue;
        }
        if (std::isupper(c)) {
            // "ToDo" -> "to_do"; "HTTPLog" -> "http_log"
            bool prev_lower = i > 0 && (std::islower(static_cast<unsigned char>(name[i - 1])) ||
                                        std::isdigit(static_cast<unsigned char>(name[i - 1])));
            bool next_lower =
                i + 1 < name.size() && std::islower(static_cast<unsigned char>(name[i + 1]));
            bool prev_upper = i > 0 && std::isupper(static_cast<unsigned char>(name[i - 1]));
            if (!out.empty() && out.back() != '_' && (prev_lower || (prev_upper && next_lower))) {
                out += '_';
            }
            out += static_cast<char>(std::tolower(c));
        } else {
            out += static_cast<char>(c);
        }
    }
    while (!out.empty() && out.back() == '_') out.pop_back();
    return out;
}

NamingRule NamingRule::parse(const std::string& text) {
    using K = NamingRule::Kind;
    if (text == "uuid") return {K::uuid, {}};
    if (text == "autoincrement") return {K::autoincrement, {}};
    if (text == "prompt") return {K::prompt, {}};
    if (text.rfind("field:", 0) == 0) return {K::field, text.substr(6)};
    if (text.rfind("series:", 0) == 0) {
        if (text.find('#') == std::string::npos) {
            throw Error(ErrorKind::validation,
                        fmt::format("naming_rule '{}' needs a counter ('.#####')", text));
        }
        return {K::series, text.substr(7)};
    }
    throw Error(ErrorKind::validation,
                fmt::format("unknown naming_rule '{}' (use uuid, autoincrement, prompt, "
                            "field:<field> or series:<PREFIX>.#####)",
                            text));
}

std::string NamingRule::text() const {
    switch (kind) {
    case Kind::uuid:
        return "uuid";
    case Kind::autoincrement:
        return "autoincrement";
    case Kind::prompt:
        return "prompt";
    case Kind::field:
        return "field:" + argument;
    case Kind::series:
        return "series:" + argument;
    }
    return "uuid";
}

std::string DocType::table_name() const {
    return snake_case(name);
}

const std::vector<Field>& DocType::columns() const {
    return m_columns;
}

const Field* DocType::find(std::string_view field_name) const noexcept {
    for (const auto& f : m_columns) {
        if (f.name == field_name) return &f;
    }
    for (const auto& f : fields) {
        if (f.name == field_name) return &f;
    }
    return nullptr;
}

void DocType::finalize() {
    m_columns.clear();
    m_columns.push_back(standard("id", FieldType::uuid, "ID"));
    m_columns.push_back(standard("name", FieldType::data, "Name"));
    m_columns.push_back(standard("owner", FieldType::data, "Owner"));
    m_columns.push_back(standard("creation", FieldType::datetime, "Created On"));
    m_columns.push_back(standard("modified", FieldType::datetime, "Last Updated On"));
    m_columns.push_back(standard("modified_by", FieldType::data, "Last Updated By"));
    m_columns.push_back(standard("docstatus", FieldType::int_, "Document Status"));
    if (is_child_table) {
        m_columns.push_back(standard("parent_id", FieldType::uuid, "Parent"));
        m_columns.push_back(standard("parent_doctype", FieldType::data, "Parent DocType"));
        m_columns.push_back(standard("parent_field", FieldType::data, "Parent Field"));
        m_columns.push_back(standard("idx", FieldType::int_, "Row"));
    }
    for (const auto& f : fields) {
        if (f.has_column()) m_columns.push_back(f);
    }
}

void MetaRegistry::add(DocType doctype) {
    if (auto it = m_by_name.find(doctype.name); it != m_by_name.end()) {
        throw Error(ErrorKind::validation,
                    fmt::format("{}: DocType '{}' is already defined in {}", doctype.source_file,
                                doctype.name, it->second->source_file));
    }
    std::string table = doctype.table_name();
    if (auto it = m_tables.find(table); it != m_tables.end()) {
        const DocType& other = *m_by_name.at(it->second);
        throw Error(ErrorKind::validation,
                    fmt::format("{}: DocType '{}' maps to table '{}', which DocType '{}' ({}) "
                                "already uses",
                                doctype.source_file, doctype.name, table, other.name,
                                other.source_file));
    }
    m_tables.emplace(table, doctype.name);
    doctype.finalize();
    auto ptr = std::make_shared<const DocType>(std::move(doctype));
    m_by_name.emplace(ptr->name, ptr);
    m_order.push_back(std::move(ptr));
}

void MetaRegistry::check_references() const {
    for (const auto& dt : m_order) {
        for (const auto& f : dt->fields) {
            if (f.type != FieldType::link && f.type != FieldType::table) continue;
            const DocType* target = find(f.options);
            if (!target) {
                throw Error(ErrorKind::validation,
                            fmt::format("{}: field '{}': {} target DocType '{}' does not exist",
                                        dt->source_file, f.name, to_string(f.type), f.options));
            }
            if (f.type == FieldType::table && !target->is_child_table) {
                throw Error(ErrorKind::validation,
                            fmt::format("{}: field '{}': table target '{}' is not a child table "
                                        "(set \"is_child_table\": true in its doctype.json)",
                                        dt->source_file, f.name, f.options));
            }
            if (f.type == FieldType::link && target->is_child_table) {
                throw Error(ErrorKind::validation,
                            fmt::format("{}: field '{}': cannot link to child table '{}'",
                                        dt->source_file, f.name, f.options));
            }
        }
    }
}

const DocType* MetaRegistry::find(std::string_view name) const noexcept {
    auto it = m_by_name.find(name);
    return it == m_by_name.end() ? nullptr : it->second.get();
}

const DocType& MetaRegistry::get(std::string_view name) const {
    if (const DocType* dt = find(name)) return *dt;
    throw Error(ErrorKind::not_found, fmt::format("unknown DocType '{}'", name));
}

} // namespace m::core
