// The OpenAPI 3.1 document (GET /schema), generated from the DocType metadata on every start.
//
// Decisions:
// - Path keys are URLs: a DocType name is written percent-encoded ("/api/v1/Sales%20Invoice"),
//   because OpenAPI appends the key to the server URL as it stands, and a space is not allowed in
//   a URL. The exact name is in the tag and in the `x-m-doctype` extension of each path item.
// - Component names may not contain spaces: a DocType's schema is its name without spaces
//   ("SalesInvoice"), with `Partial` (no required keys: PUT bodies and list items, which may hold
//   only the requested `fields`) and `List` (the list reply) beside it. A name already taken gets
//   "_2", "_3", ... so every DocType keeps its own schemas.
// - Datetimes are "YYYY-MM-DD HH:MM:SS.ffffff" (UTC), not RFC 3339, so they are described by a
//   pattern (which also admits the input forms the server accepts), not by `format: date-time`.
// - A field that is not required may be null (and a select may also be ""); readOnly standard
//   fields are listed as required, which OpenAPI applies to replies only.
//
// This file builds the document from its parts and names components and operations; the parts
// are listed in openapi_builder.hpp.
#include "m/server/openapi.hpp"

#include "openapi_builder.hpp"

#include <fmt/format.h>

namespace m::server {

namespace openapi {

namespace {

// Component keys must match ^[a-zA-Z0-9.\-_]+$.
std::string component_base(std::string_view doctype) {
    std::string out;
    for (char c : doctype) {
        if (c != ' ') out += c;
    }
    return out;
}

} // namespace

json schema_ref(const std::string& name) {
    return {{"$ref", "#/components/schemas/" + name}};
}

json response_ref(const std::string& name) {
    return {{"$ref", "#/components/responses/" + name}};
}

json param_ref(const std::string& name) {
    return {{"$ref", "#/components/parameters/" + name}};
}

json json_content(json schema) {
    return {{"application/json", {{"schema", std::move(schema)}}}};
}

void add_errors(json& responses, std::initializer_list<const char*> codes) {
    static const std::map<std::string, std::string> names{
        {"400", "BadRequest"},      {"401", "Unauthorized"},  {"403", "Forbidden"},
        {"404", "NotFound"},        {"409", "Conflict"},      {"413", "PayloadTooLarge"},
        {"429", "TooManyRequests"}, {"500", "InternalError"}, {"503", "ServiceUnavailable"}};
    for (const char* code : codes) responses[code] = response_ref(names.at(code));
}

std::string url_segment(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

const std::string& Builder::key_of(const DocType& dt) {
    if (auto it = m_keys.find(dt.name); it != m_keys.end()) return it->second;
    const std::string base = component_base(dt.name);
    auto free = [&](const std::string& k) {
        return !m_taken.count(k) && !m_taken.count(k + "Partial") && !m_taken.count(k + "List");
    };
    std::string key = base;
    for (int n = 2; !free(key); ++n) key = fmt::format("{}_{}", base, n);
    m_taken.insert({key, key + "Partial", key + "List"});
    return m_keys.emplace(dt.name, key).first->second;
}

std::string Builder::operation_id(const std::string& wanted) {
    std::string id = wanted;
    for (int n = 2; m_operation_ids.count(id); ++n) id = fmt::format("{}_{}", wanted, n);
    m_operation_ids.insert(id);
    return id;
}

json Builder::build(const std::string& version) {
    // The shared schemas (Error, Filter, ...) keep their names; DocTypes pick around them.
    json components = components_fixed();
    for (const auto& [name, _] : components.at("schemas").items()) m_taken.insert(name);

    json tags = json::array();
    for (const auto& dt : m_meta.all()) {
        if (!exposed(*dt) || (m_include && !m_include(*dt))) continue;
        add_doctype_schemas(*dt);
        add_doctype_paths(*dt);
        std::string description = dt->label;
        if (!dt->module.empty()) description += " (module " + dt->module + ")";
        tags.push_back({{"name", dt->name}, {"description", description}});
    }
    add_fixed_paths();
    tags.push_back({{"name", "auth"}, {"description", "Log in, tokens, the current user."}});
    tags.push_back({{"name", "meta"}, {"description", "DocType metadata."}});
    tags.push_back({{"name", "system"}, {"description", "Health, metrics, schema, live updates."}});

    for (auto& [name, schema] : m_schemas.items()) components["schemas"][name] = schema;

    return {{"openapi", "3.1.0"},
            {"info",
             {{"title", "m"},
              {"version", version},
              {"description", "The HTTP API of `m serve`, generated from the DocType metadata."}}},
            {"tags", tags},
            {"security", json::array({{{"bearerAuth", json::array()}},
                                      {{"apiKey", json::array()}},
                                      {{"sessionCookie", json::array()}}})},
            {"paths", m_paths},
            {"components", components}};
}

} // namespace openapi

nlohmann::json openapi_document(const core::MetaRegistry& meta,
                                const std::map<std::string, std::vector<std::string>>& methods,
                                const std::string& version,
                                const std::function<bool(const core::DocType&)>& include) {
    return openapi::Builder(meta, methods, include).build(version);
}

} // namespace m::server
