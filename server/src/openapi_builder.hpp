// The builder of the OpenAPI document (internal to server/src; the decisions are in openapi.cpp).
// Its parts by concern: openapi.cpp (the document, component and operation names),
// openapi_schemas.cpp (a DocType's schemas), openapi_doctype_paths.cpp (a DocType's paths),
// openapi_fixed_paths.cpp (system, meta, auth and stream paths) and openapi_components.cpp (the
// shared schemas, responses, parameters and security schemes).
#pragma once

#include "m/core/doctype.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace m::server::openapi {

using core::DocType;
using core::Field;
using core::FieldType;
using nlohmann::json;

// What core::canonical_datetime accepts; replies always use "YYYY-MM-DD HH:MM:SS.ffffff".
inline constexpr const char* k_datetime_pattern =
    R"(^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$)";
inline constexpr const char* k_time_pattern = R"(^\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$)";

json schema_ref(const std::string& name);
json response_ref(const std::string& name);
json param_ref(const std::string& name);
json json_content(json schema);

/// Error replies by status, each a shared response of components.responses with the Error body.
void add_errors(json& responses, std::initializer_list<const char*> codes);

/// RFC 3986: everything but the unreserved characters is percent-encoded.
std::string url_segment(std::string_view s);

/// Builds the document; one instance per call, so it needs no locking.
class Builder {
public:
    Builder(const core::MetaRegistry& meta,
            const std::map<std::string, std::vector<std::string>>& methods,
            const std::function<bool(const core::DocType&)>& include)
        : m_meta(meta), m_methods(methods), m_include(include) {}

    json build(const std::string& version);

private:
    /// A field's schema before the rules that apply to every type: the schema with what only its
    /// type has (enum, format, pattern, items), its JSON type ("" for any value) and what the
    /// type adds to the description.
    struct TypedSchema {
        json schema = json::object();
        std::string type;
        std::string description;
    };

    const core::MetaRegistry& m_meta;
    const std::map<std::string, std::vector<std::string>>& m_methods;
    const std::function<bool(const core::DocType&)>& m_include;
    std::set<std::string> m_taken;             ///< component schema names
    std::map<std::string, std::string> m_keys; ///< DocType name -> schema name
    std::set<std::string> m_operation_ids;
    json m_paths = json::object();
    json m_schemas = json::object();

    static bool exposed(const core::DocType& dt) { return dt.api_resource && !dt.is_child_table; }

    const std::string& key_of(const core::DocType& dt);
    std::string operation_id(const std::string& wanted);

    // openapi_schemas.cpp
    TypedSchema typed_schema(const core::Field& f);
    json field_schema(const core::Field& f);
    json standard_properties(const core::DocType& dt);
    void add_doctype_schemas(const core::DocType& dt);

    // openapi_doctype_paths.cpp
    json operation(const core::DocType& dt, const std::string& id, const std::string& summary,
                   const std::string& action);
    void add_doctype_paths(const core::DocType& dt);
    void add_collection_path(const core::DocType& dt, const std::string& key,
                             const std::string& base);
    void add_item_path(const core::DocType& dt, const std::string& key, const std::string& base);
    void add_docstatus_paths(const core::DocType& dt, const std::string& key,
                             const std::string& base);
    void add_versions_path(const core::DocType& dt, const std::string& key,
                           const std::string& base);
    void add_method_paths(const core::DocType& dt, const std::string& key);

    // openapi_fixed_paths.cpp
    json fixed_operation(const char* tag, const char* id, std::string_view method,
                         std::string_view path);
    void add_fixed_paths();
    void add_system_paths();
    void add_meta_paths();
    void add_auth_paths();
    void add_stream_path();

    // openapi_components.cpp
    static json components_fixed();
};

} // namespace m::server::openapi
