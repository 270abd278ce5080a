// The schemas of a DocType in the OpenAPI document: one per field (its JSON type, format, limits
// and annotations), the standard fields, and the document, partial and list schemas.
#include "openapi_builder.hpp"

#include <fmt/format.h>

namespace m::server::openapi {

Builder::TypedSchema Builder::typed_schema(const Field& f) {
    TypedSchema typed;
    json& s = typed.schema;
    std::string& type = typed.type;
    std::string& description = typed.description;
    switch (f.type) {
    case FieldType::data:
    case FieldType::text:
        type = "string";
        break;
    case FieldType::select:
        type = "string";
        s["enum"] = f.select_options;
        break;
    case FieldType::link:
        type = "string";
        description = fmt::format("The name of a {} document.", f.options);
        break;
    case FieldType::int_:
        type = "integer";
        break;
    case FieldType::float_:
    case FieldType::decimal:
        type = "number";
        break;
    case FieldType::check:
        type = "boolean";
        break;
    case FieldType::date:
        type = "string";
        s["format"] = "date";
        break;
    case FieldType::datetime:
        type = "string";
        s["pattern"] = k_datetime_pattern;
        description = "UTC; returned as YYYY-MM-DD HH:MM:SS.ffffff (an offset or Z is accepted "
                      "on input).";
        break;
    case FieldType::time:
        type = "string";
        s["pattern"] = k_time_pattern;
        description = "HH:MM:SS[.ffffff].";
        break;
    case FieldType::uuid:
        type = "string";
        s["format"] = "uuid";
        break;
    case FieldType::json:
        description = "Any JSON value.";
        break;
    case FieldType::password:
        type = "string";
        s["format"] = "password";
        s["writeOnly"] = true;
        description = "Write-only: stored as a hash, never returned.";
        break;
    case FieldType::table: {
        s["type"] = "array";
        const DocType* child = m_meta.find(f.options);
        s["items"] = child ? schema_ref(key_of(*child)) : json::object();
        if (f.required) s["minItems"] = 1;
        description =
            fmt::format("Rows of the child table {}; saved with this document.", f.options);
        break;
    }
    }
    return typed;
}

namespace {

void add_json_type(json& s, const std::string& type, const Field& f) {
    // Not required: the key may be null, a select also "" (both mean "not set").
    if (f.required) {
        s["type"] = type;
    } else {
        s["type"] = json::array({type, "null"});
        if (s.contains("enum")) {
            s["enum"].push_back("");
            s["enum"].push_back(nullptr);
        }
    }
}

void add_limits(json& s, const std::string& type, const Field& f) {
    if (type == "string" && f.type != FieldType::select) {
        // data, select and link columns hold 140 characters unless max_length says otherwise.
        int max = f.max_length ? *f.max_length : 0;
        if (!max && (f.type == FieldType::data || f.type == FieldType::link)) max = 140;
        if (max) s["maxLength"] = max;
        int min = f.min_length ? *f.min_length : 0;
        if (f.required && min < 1) min = 1;
        if (min) s["minLength"] = min;
        if (!f.pattern.empty()) s["pattern"] = f.pattern;
    }
    if (type == "integer" || type == "number") {
        if (f.min) s["minimum"] = *f.min;
        if (f.max) s["maximum"] = *f.max;
    }
}

void add_annotations(json& s, const Field& f, const std::string& description) {
    if (!f.label.empty()) s["title"] = f.label;
    std::string text = f.description;
    if (!description.empty()) text += (text.empty() ? "" : "\n\n") + description;
    if (!text.empty()) s["description"] = text;
    if (!f.default_value.is_null() && f.type != FieldType::password) {
        s["default"] = f.default_value;
    }
    if (f.read_only) s["readOnly"] = true;
}

} // namespace

json Builder::field_schema(const Field& f) {
    TypedSchema typed = typed_schema(f);
    if (!typed.type.empty()) add_json_type(typed.schema, typed.type, f);
    add_limits(typed.schema, typed.type, f);
    add_annotations(typed.schema, f, typed.description);
    return typed.schema;
}

json Builder::standard_properties(const DocType& dt) {
    auto ro = [](json s, const char* title, const char* description) {
        s["readOnly"] = true;
        s["title"] = title;
        s["description"] = description;
        return s;
    };
    json string = {{"type", "string"}};
    json uuid = {{"type", "string"}, {"format", "uuid"}};
    json datetime = {{"type", "string"}, {"pattern", k_datetime_pattern}};
    json p = json::object();
    p["id"] = ro(uuid, "ID", "Primary key.");
    p["name"] = ro(string, "Name", "Unique; set by the naming rule.");
    if (dt.naming.kind == core::NamingRule::Kind::prompt) {
        p["name"].erase("readOnly");
        p["name"]["minLength"] = 1;
        p["name"]["description"] = "Unique; given by the client (naming rule `prompt`).";
    } else {
        p["name"]["description"] =
            fmt::format("Unique; set by the naming rule `{}`.", dt.naming.text());
    }
    p["owner"] = ro(string, "Owner", "The user who created the document.");
    p["creation"] = ro(datetime, "Created On", "UTC, YYYY-MM-DD HH:MM:SS.ffffff.");
    p["modified"] = ro(datetime, "Last Updated On", "UTC, YYYY-MM-DD HH:MM:SS.ffffff.");
    p["modified_by"] = ro(string, "Last Updated By", "The user who saved it last.");
    p["docstatus"] = ro({{"type", "integer"}, {"enum", {0, 1, 2}}}, "Document Status",
                        "0 draft, 1 submitted, 2 cancelled.");
    if (dt.is_child_table) {
        p["parent_id"] = ro(uuid, "Parent", "The id of the parent document.");
        p["parent_doctype"] = ro(string, "Parent DocType", "The DocType of the parent.");
        p["parent_field"] = ro(string, "Parent Field", "The table field of the parent.");
        p["idx"] = ro({{"type", "integer"}}, "Row", "Position of the row (from 1).");
    }
    return p;
}

void Builder::add_doctype_schemas(const DocType& dt) {
    const std::string key = key_of(dt);
    if (m_schemas.contains(key)) return;
    m_schemas[key] = json::object(); // placeholder: guards recursion through table fields

    json properties = standard_properties(dt);
    json required = json::array();
    for (const auto& name : core::standard_field_names()) required.push_back(name);
    if (dt.is_child_table) {
        for (const auto& name : core::child_standard_field_names()) required.push_back(name);
    }
    for (const auto& f : dt.fields) {
        properties[f.name] = field_schema(f);
        if (f.required) required.push_back(f.name);
        if (f.type == FieldType::table) {
            if (const DocType* child = m_meta.find(f.options)) add_doctype_schemas(*child);
        }
    }

    std::string description = dt.label != dt.name ? dt.label + ". " : "";
    description +=
        dt.is_child_table
            ? fmt::format("Row of the child table {} (saved with its parent).", dt.name)
            : fmt::format("A {} document. Unknown keys are refused when saving.", dt.name);
    m_schemas[key] = {{"type", "object"},
                      {"title", dt.name},
                      {"description", description},
                      {"properties", properties},
                      {"required", required}};
    if (dt.is_child_table) return;

    json partial_properties = properties;
    partial_properties["modified"].erase("readOnly");
    partial_properties["modified"]["description"] =
        "When given in an update, must equal the stored value (else 409 Conflict).";
    m_schemas[key + "Partial"] = {
        {"type", "object"},
        {"title", dt.name + " (partial)"},
        {"description",
         fmt::format("Some keys of a {} document: the body of a partial update (read-only keys "
                     "are ignored), and a list item when `fields` selects the keys.",
                     dt.name)},
        {"properties", partial_properties}};
    m_schemas[key + "List"] = {
        {"type", "object"},
        {"title", dt.name + " list"},
        {"required", {"items", "total", "limit", "offset", "has_more"}},
        {"properties",
         {{"items", {{"type", "array"}, {"items", schema_ref(key + "Partial")}}},
          {"total",
           {{"type", json::array({"integer", "null"})},
            {"minimum", 0},
            {"description", "null when `count=none`."}}},
          {"limit", {{"type", "integer"}, {"minimum", 0}}},
          {"offset", {{"type", "integer"}, {"minimum", 0}}},
          {"has_more", {{"type", "boolean"}}}}}};
}

} // namespace m::server::openapi
