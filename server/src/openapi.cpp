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
#include "m/server/openapi.hpp"

#include "m/server/routes.hpp"

#include <fmt/format.h>

#include <set>
#include <string_view>

namespace m::server {

namespace {

using core::DocType;
using core::Field;
using core::FieldType;
using nlohmann::json;

// The "error" values of the Error body (docs/reference/http-api.md, "Errors"). They must match
// error_status() in reply.cpp (401 is PermissionDenied there, 413 ValidationError).
const std::vector<std::string>& error_names() {
    static const std::vector<std::string> names{
        "ValidationError", "PermissionDenied", "NotFound",          "Conflict",
        "InternalError",   "TooManyRequests",  "ServiceUnavailable"};
    return names;
}

// What core::canonical_datetime accepts; replies always use "YYYY-MM-DD HH:MM:SS.ffffff".
constexpr const char* k_datetime_pattern =
    R"(^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$)";
constexpr const char* k_time_pattern = R"(^\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$)";

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

// Error replies by status, each a shared response of components.responses with the Error body.
void add_errors(json& responses, std::initializer_list<const char*> codes) {
    static const std::map<std::string, std::string> names{
        {"400", "BadRequest"},      {"401", "Unauthorized"},  {"403", "Forbidden"},
        {"404", "NotFound"},        {"409", "Conflict"},      {"413", "PayloadTooLarge"},
        {"429", "TooManyRequests"}, {"500", "InternalError"}, {"503", "ServiceUnavailable"}};
    for (const char* code : codes) responses[code] = response_ref(names.at(code));
}

// RFC 3986: everything but the unreserved characters is percent-encoded.
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

// Component keys must match ^[a-zA-Z0-9.\-_]+$.
std::string component_base(std::string_view doctype) {
    std::string out;
    for (char c : doctype) {
        if (c != ' ') out += c;
    }
    return out;
}

std::string roles_text(const DocType& dt, const std::string& action) {
    auto it = dt.permissions.find(action);
    if (it == dt.permissions.end() || it->second.empty()) {
        return fmt::format("Permission `{}`: Admin and System only.", action);
    }
    return fmt::format("Permission `{}`: {} (Admin and System always).", action,
                       fmt::join(it->second, ", "));
}

/// Builds the document; one instance per call, so it needs no locking.
class Builder {
public:
    Builder(const core::MetaRegistry& meta,
            const std::map<std::string, std::vector<std::string>>& methods,
            const std::function<bool(const DocType&)>& include)
        : m_meta(meta), m_methods(methods), m_include(include) {}

    json build(const std::string& version);

private:
    const core::MetaRegistry& m_meta;
    const std::map<std::string, std::vector<std::string>>& m_methods;
    const std::function<bool(const DocType&)>& m_include;
    std::set<std::string> m_taken;             ///< component schema names
    std::map<std::string, std::string> m_keys; ///< DocType name -> schema name
    std::set<std::string> m_operation_ids;
    json m_paths = json::object();
    json m_schemas = json::object();

    static bool exposed(const DocType& dt) { return dt.api_resource && !dt.is_child_table; }

    const std::string& key_of(const DocType& dt);
    std::string operation_id(const std::string& wanted);
    json field_schema(const Field& f);
    json standard_properties(const DocType& dt);
    void add_doctype_schemas(const DocType& dt);
    json operation(const DocType& dt, const std::string& id, const std::string& summary,
                   const std::string& action);
    void add_doctype_paths(const DocType& dt);
    void add_fixed_paths();
    static json components_fixed();
};

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

json Builder::field_schema(const Field& f) {
    json s = json::object();
    std::string type;
    std::string description;
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

    if (!type.empty()) {
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
    if (!f.label.empty()) s["title"] = f.label;
    std::string text = f.description;
    if (!description.empty()) text += (text.empty() ? "" : "\n\n") + description;
    if (!text.empty()) s["description"] = text;
    if (!f.default_value.is_null() && f.type != FieldType::password) {
        s["default"] = f.default_value;
    }
    if (f.read_only) s["readOnly"] = true;
    return s;
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

json Builder::operation(const DocType& dt, const std::string& id, const std::string& summary,
                        const std::string& action) {
    json op = {{"tags", {dt.name}},
               {"operationId", operation_id(id)},
               {"summary", summary},
               {"description",
                roles_text(dt, action) + (dt.apply_rls ? fmt::format(" Row-level security: only "
                                                                     "documents whose `{}` is the "
                                                                     "caller's.",
                                                                     dt.rls_field)
                                                       : "")}};
    if (!dt.requires_auth) {
        // Guests are allowed (the permissions decide); credentials are still honoured.
        op["security"] = json::array({json::object(),
                                      {{"bearerAuth", json::array()}},
                                      {{"apiKey", json::array()}},
                                      {{"sessionCookie", json::array()}}});
    }
    return op;
}

void Builder::add_doctype_paths(const DocType& dt) {
    const std::string key = key_of(dt);
    const std::string base = "/api/v1/" + url_segment(dt.name);
    const json doc = json_content(schema_ref(key));
    const std::string alias =
        fmt::format("{} (`{}`, its table name, works too in the URL).", dt.name, dt.table_name());

    json collection = {{"x-m-doctype", dt.name}, {"description", "The DocType " + alias}};
    json list = operation(dt, "list_" + key, "List " + dt.name + " documents", "read");
    list["parameters"] = {param_ref("limit"),    param_ref("offset"),  param_ref("fields"),
                          param_ref("order_by"), param_ref("filters"), param_ref("count")};
    list["responses"] = {{"200",
                          {{"description", "A page of documents."},
                           {"content", json_content(schema_ref(key + "List"))}}}};
    add_errors(list["responses"], {"400", "401", "403", "404", "500", "503"});
    collection["get"] = list;

    json create = operation(dt, "create_" + key, "Create a " + dt.name, "create");
    create["requestBody"] = {{"required", true}, {"content", doc}};
    create["responses"] = {{"201", {{"description", "The saved document."}, {"content", doc}}}};
    add_errors(create["responses"], {"400", "401", "403", "404", "409", "413", "500", "503"});
    collection["post"] = create;
    m_paths[base] = collection;

    json id_param = {{"name", "id"},
                     {"in", "path"},
                     {"required", true},
                     {"description", "The document's id (UUID) or name."},
                     {"schema", {{"type", "string"}}}};
    json item = {{"x-m-doctype", dt.name}, {"parameters", {id_param}}};
    json get = operation(dt, "get_" + key, "Read a " + dt.name, "read");
    get["responses"] = {{"200", {{"description", "The document."}, {"content", doc}}}};
    add_errors(get["responses"], {"401", "403", "404", "500", "503"});
    item["get"] = get;

    json put = operation(dt, "update_" + key, "Update a " + dt.name + " (partial)", "write");
    put["parameters"] = {
        {{"name", "If-Match"},
         {"in", "header"},
         {"required", false},
         {"description", "The `modified` value the update is based on (optimistic concurrency; "
                         "the same as `modified` in the body). A stale value gets 409."},
         {"schema", {{"type", "string"}}}}};
    put["requestBody"] = {{"required", true},
                          {"content", json_content(schema_ref(key + "Partial"))}};
    put["responses"] = {{"200", {{"description", "The saved document."}, {"content", doc}}}};
    add_errors(put["responses"], {"400", "401", "403", "404", "409", "413", "500", "503"});
    item["put"] = put;

    json del = operation(dt, "delete_" + key, "Delete a " + dt.name, "delete");
    del["responses"] = {{"204", {{"description", "Deleted."}}}};
    add_errors(del["responses"], {"400", "401", "403", "404", "409", "500", "503"});
    item["delete"] = del;
    m_paths[base + "/{id}"] = item;

    if (dt.is_submittable) {
        for (const char* action : {"submit", "cancel"}) {
            const std::string a = action;
            json op = operation(dt, a + "_" + key,
                                (a == "submit" ? "Submit a " : "Cancel a ") + dt.name, a);
            op["responses"] = {
                {"200",
                 {{"description", a == "submit" ? "The submitted document (docstatus 1)."
                                                : "The cancelled document (docstatus 2)."},
                  {"content", doc}}}};
            add_errors(op["responses"], {"400", "401", "403", "404", "409", "500", "503"});
            m_paths[base + "/{id}/" + a] = {
                {"x-m-doctype", dt.name}, {"parameters", {id_param}}, {"post", op}};
        }
    }

    if (dt.track_changes) {
        json op = operation(dt, "versions_" + key, "Version history of a " + dt.name, "read");
        json version = {
            {"type", "object"},
            {"properties",
             {{"creation", {{"type", "string"}, {"format", "date-time"}}},
              {"owner", {{"type", {"string", "null"}}}},
              {"data",
               {{"type", "object"},
                {"description", "`changed` [[field, old, new]], `added`/`removed` [[table, row]], "
                                "`row_changed` [[table, idx, [[field, old, new]]]]"}}}}}};
        op["responses"] = {
            {"200",
             {{"description", "The document's versions, oldest first."},
              {"content",
               json_content(
                   {{"type", "object"},
                    {"required", {"items"}},
                    {"properties", {{"items", {{"type", "array"}, {"items", version}}}}}})}}}};
        add_errors(op["responses"], {"401", "403", "404", "500", "503"});
        m_paths[base + "/{id}/versions"] = {
            {"x-m-doctype", dt.name}, {"parameters", {id_param}}, {"get", op}};
    }

    if (auto it = m_methods.find(dt.name); it != m_methods.end()) {
        std::set<std::string> seen;
        for (const auto& method : it->second) {
            if (method.empty() || !seen.insert(method).second) continue;
            json op = operation(dt, "call_" + key + "_" + method, "Call " + dt.name + "." + method,
                                "read");
            op["description"] = "A controller method registered as callable; the server checks "
                                "the permission it was registered with before it runs.";
            op["requestBody"] = {{"required", false},
                                 {"content", json_content(schema_ref("RpcRequest"))}};
            op["responses"] = {{"200",
                                {{"description", "What the method returned."},
                                 {"content", json_content(schema_ref("RpcResult"))}}}};
            add_errors(op["responses"], {"400", "401", "403", "404", "409", "413", "500", "503"});
            m_paths["/api/v1/rpc/" + url_segment(dt.name) + "/" + url_segment(method)] = {
                {"x-m-doctype", dt.name}, {"post", op}};
        }
    }
}

void Builder::add_fixed_paths() {
    const json none = json::array();
    const json optional = json::array({json::object(),
                                       {{"bearerAuth", json::array()}},
                                       {{"apiKey", json::array()}},
                                       {{"sessionCookie", json::array()}}});
    // The summary and who may call come from the route table (routes.hpp), so `m routes`, the
    // server and this document cannot tell different stories.
    auto op = [&](const char* tag, const char* id, std::string_view method, std::string_view path) {
        const RouteInfo& route = route_info(method, path);
        std::string summary = route.summary;
        if (!summary.empty()) summary[0] = static_cast<char>(std::toupper(summary[0]));
        json security = none;
        if (route.auth == RouteAuth::optional) security = optional;
        if (route.auth == RouteAuth::user || route.auth == RouteAuth::superuser) {
            security = json::array({{{"bearerAuth", json::array()}},
                                    {{"apiKey", json::array()}},
                                    {{"sessionCookie", json::array()}}});
        }
        return json{{"tags", {tag}},
                    {"operationId", operation_id(id)},
                    {"summary", summary},
                    {"security", security}};
    };
    auto reply = [](const char* description, const std::string& schema) {
        return json{{"description", description}, {"content", json_content(schema_ref(schema))}};
    };

    json health = op("system", "health", "GET", "/health");
    health["responses"] = {{"200", reply("The server and its database are up.", "Health")},
                           {"503", reply("The database cannot be reached.", "Health")}};
    add_errors(health["responses"], {"500"});
    m_paths["/health"] = {{"get", health}};

    json metrics = op("system", "metrics", "GET", "/metrics");
    metrics["responses"] = {{"200",
                             {{"description", "Prometheus text exposition format 0.0.4."},
                              {"content", {{"text/plain", {{"schema", {{"type", "string"}}}}}}}}}};
    add_errors(metrics["responses"], {"500"});
    m_paths["/metrics"] = {{"get", metrics}};

    json schema = op("system", "schema", "GET", "/schema");
    schema["responses"] = {{"200",
                            {{"description", "OpenAPI 3.1, generated from the metadata."},
                             {"content", json_content({{"type", "object"}})}}}};
    add_errors(schema["responses"], {"500"});
    m_paths["/schema"] = {{"get", schema}};

    json doctypes = op("meta", "listDocTypes", "GET", "/api/meta/doctypes");
    doctypes["description"] = "The DocTypes the caller may read; each flag parameter keeps only "
                              "the DocTypes whose flag has that value.";
    doctypes["parameters"] = json::array();
    for (const char* flag : {"show_in_desk", "is_submittable", "is_child_table", "api_resource"}) {
        doctypes["parameters"].push_back(
            {{"name", flag},
             {"in", "query"},
             {"required", false},
             {"schema", {{"type", "string"}, {"enum", {"0", "1", "true", "false"}}}}});
    }
    doctypes["responses"] = {{"200", reply("The DocTypes.", "DocTypeList")}};
    add_errors(doctypes["responses"], {"400", "401", "500"});
    m_paths["/api/meta/doctypes"] = {{"get", doctypes}};

    json meta = op("meta", "getDocTypeMeta", "GET", "/api/meta/{doctype}");
    meta["description"] = "Fields, layout, callable methods and the caller's permissions.";
    meta["parameters"] = {{{"name", "doctype"},
                           {"in", "path"},
                           {"required", true},
                           {"description", "The DocType name (or its table name)."},
                           {"schema", {{"type", "string"}}}}};
    meta["responses"] = {{"200", reply("The DocType's metadata.", "DocTypeMeta")}};
    add_errors(meta["responses"], {"401", "403", "404", "500"});
    m_paths["/api/meta/{doctype}"] = {{"get", meta}};

    json login = op("auth", "login", "POST", "/api/v1/auth/login");
    login["description"] = "Also sets the Desk's session cookie.";
    login["requestBody"] = {{"required", true},
                            {"content", json_content(schema_ref("LoginRequest"))}};
    login["responses"] = {{"200", reply("Tokens.", "TokenReply")}};
    add_errors(login["responses"], {"400", "401", "429", "500", "503"});
    m_paths["/api/v1/auth/login"] = {{"post", login}};

    json refresh = op("auth", "refreshToken", "POST", "/api/v1/auth/refresh");
    refresh["requestBody"] = {{"required", true},
                              {"content", json_content(schema_ref("RefreshRequest"))}};
    refresh["responses"] = {
        {"200", reply("A new access token (the refresh token stays valid).", "TokenReply")}};
    add_errors(refresh["responses"], {"400", "401", "500", "503"});
    m_paths["/api/v1/auth/refresh"] = {{"post", refresh}};

    json logout = op("auth", "logout", "POST", "/api/v1/auth/logout");
    logout["description"] = "Revokes the refresh token of the body, or else the token that "
                            "authenticates the request, and clears the session cookie.";
    logout["requestBody"] = {{"required", false},
                             {"content", json_content(schema_ref("LogoutRequest"))}};
    logout["responses"] = {{"204", {{"description", "Logged out."}}}};
    add_errors(logout["responses"], {"400", "401", "500", "503"});
    m_paths["/api/v1/auth/logout"] = {{"post", logout}};

    json me = op("auth", "me", "GET", "/api/v1/auth/me");
    me["responses"] = {
        {"200", reply("Who is calling (only `authenticated: false` for a guest).", "Me")}};
    add_errors(me["responses"], {"401", "500", "503"});
    m_paths["/api/v1/auth/me"] = {{"get", me}};

    json stream = op("system", "stream", "GET", "/api/v1/stream");
    stream["description"] =
        "One event per document change the caller may see (`doc.created`, `doc.updated`, "
        "`doc.deleted`, `doc.submitted`, `doc.cancelled`), each with an `id:`; `event: reset` when "
        "the missed events are too old to replay. A browser's EventSource cannot send headers, so "
        "the access token may also be given as `?token=`.";
    stream["security"] = json::array({{{"bearerAuth", json::array()}},
                                      {{"apiKey", json::array()}},
                                      {{"sessionCookie", json::array()}},
                                      {{"streamToken", json::array()}}});
    stream["parameters"] = {
        {{"name", "Last-Event-ID"},
         {"in", "header"},
         {"required", false},
         {"description", "Resume after this event: the events missed since are sent first."},
         {"schema", {{"type", "string"}, {"pattern", "^[0-9]+$"}}}},
        {{"name", "last_event_id"},
         {"in", "query"},
         {"required", false},
         {"description", "The same as Last-Event-ID, for clients that cannot send it."},
         {"schema", {{"type", "string"}, {"pattern", "^[0-9]+$"}}}},
        {{"name", "doctypes"},
         {"in", "query"},
         {"required", false},
         {"description", "Comma list of DocTypes to follow (default: every one the caller may "
                         "read)."},
         {"schema", {{"type", "string"}}}}};
    stream["responses"] = {
        {"200",
         {{"description", "An endless event stream."},
          {"content", {{"text/event-stream", {{"schema", {{"type", "string"}}}}}}}}}};
    add_errors(stream["responses"], {"400", "401", "403", "404", "500"});
    m_paths["/api/v1/stream"] = {{"get", stream}};
}

json Builder::components_fixed() {
    json c = json::object();
    json error = {
        {"type", "object"},
        {"required", json::array({"error", "message"})},
        {"properties",
         {{"error", {{"type", "string"}, {"enum", error_names()}}},
          {"message", {{"type", "string"}, {"description", "Names the thing at fault."}}},
          {"details",
           {{"description", "Structured data, e.g. the field errors of a document; the id of "
                            "an internal error, which is in the server log."}}}}}};
    json op_enum = {"eq",     "ne",   "lt",       "lte",     "gt",          "gte",    "in",
                    "not_in", "like", "not_like", "is_null", "is_not_null", "between"};
    c["schemas"] = {
        {"Error", error},
        {"Filter",
         {{"type", "object"},
          {"required", json::array({"field", "operator"})},
          {"properties",
           {{"field", {{"type", "string"}}},
            {"operator", {{"type", "string"}, {"enum", op_enum}}},
            {"value", {{"description", "A list for in, not_in and between."}}}}}}},
        {"FilterTriple",
         {{"type", "array"},
          {"description", "Frappe's form: [field, operator, value]."},
          {"prefixItems",
           {{{"type", "string"}}, {{"type", "string"}, {"enum", op_enum}}, json::object()}},
          {"minItems", 2},
          {"maxItems", 3}}},
        {"Filters",
         {{"type", "array"},
          {"items", {{"oneOf", {schema_ref("Filter"), schema_ref("FilterTriple")}}}}}},
        {"RpcRequest",
         {{"type", "object"},
          {"description", "Keyword arguments of the method."},
          {"properties",
           {{"doc_id",
             {{"type", "string"}, {"description", "The document the method runs on, if any."}}}}},
          {"additionalProperties", true}}},
        {"RpcResult",
         {{"type", "object"},
          {"required", {"result"}},
          {"properties", {{"result", json::object()}}}}},
        {"Health",
         {{"type", "object"},
          {"required", {"status"}},
          {"properties",
           {{"status", {{"type", "string"}, {"enum", json::array({"ok", "unavailable"})}}},
            {"database", {{"type", "string"}, {"description", "\"ok\" or what is wrong."}}}}}}},
        {"DocTypeSummary",
         {{"type", "object"},
          {"required", {"name"}},
          {"properties",
           {{"name", {{"type", "string"}}},
            {"label", {{"type", "string"}}},
            {"module", {{"type", "string"}}},
            {"app", {{"type", "string"}}},
            {"is_submittable", {{"type", "boolean"}}},
            {"is_child_table", {{"type", "boolean"}}},
            {"is_single", {{"type", "boolean"}}},
            {"show_in_desk", {{"type", "boolean"}}},
            {"api_resource", {{"type", "boolean"}}},
            {"track_changes", {{"type", "boolean"}}},
            {"ui_meta", {{"type", "object"}}},
            {"permissions",
             {{"type", "object"}, {"description", "What the caller may do, by action."}}}}}}},
        {"DocTypeList",
         {{"type", "object"},
          {"required", {"items"}},
          {"properties",
           {{"items", {{"type", "array"}, {"items", schema_ref("DocTypeSummary")}}}}}}},
        {"DocTypeMeta",
         {{"allOf",
           {schema_ref("DocTypeSummary"),
            {{"type", "object"},
             {"properties",
              {{"naming_rule", {{"type", "string"}}},
               {"title_field", {{"type", "string"}}},
               {"sort_field", {{"type", "string"}}},
               {"sort_order", {{"type", "string"}, {"enum", json::array({"asc", "desc"})}}},
               {"apply_rls", {{"type", "boolean"}}},
               {"fields", {{"type", "array"}, {"items", {{"type", "object"}}}}},
               {"standard_fields", {{"type", "array"}, {"items", {{"type", "object"}}}}},
               {"child_doctypes",
                {{"type", "object"},
                 {"description", "The fields of the child DocTypes of table fields, by name."}}},
               {"methods", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}}}}}},
        {"LoginRequest",
         {{"type", "object"},
          {"required", {"password"}},
          {"properties",
           {{"email", {{"type", "string"}}},
            {"username", {{"type", "string"}}},
            {"password", {{"type", "string"}, {"format", "password"}, {"writeOnly", true}}}}},
          {"anyOf", {{{"required", {"email"}}}, {{"required", {"username"}}}}}}},
        {"RefreshRequest",
         {{"type", "object"},
          {"required", {"refresh_token"}},
          {"properties", {{"refresh_token", {{"type", "string"}}}}}}},
        {"LogoutRequest",
         {{"type", "object"},
          {"properties",
           {{"refresh_token",
             {{"type", "string"}, {"description", "Revoked too, when given."}}}}}}},
        {"TokenReply",
         {{"type", "object"},
          {"required", {"access_token", "token_type", "expires_in"}},
          {"properties",
           {{"access_token", {{"type", "string"}, {"description", "A JWT (HS256)."}}},
            {"token_type", {{"type", "string"}, {"const", "bearer"}}},
            {"expires_in",
             {{"type", "integer"}, {"description", "Seconds until the access token expires."}}},
            {"refresh_token", {{"type", "string"}}}}}}},
        {"Me",
         {{"type", "object"},
          {"required", {"authenticated"}},
          {"properties",
           {{"authenticated", {{"type", "boolean"}}},
            {"id", {{"type", json::array({"string", "null"})}}},
            {"email", {{"type", json::array({"string", "null"})}}},
            {"name", {{"type", json::array({"string", "null"})}}},
            {"roles", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}}}};

    auto error_response = [](const char* description) {
        return json{{"description", description}, {"content", json_content(schema_ref("Error"))}};
    };
    c["responses"] = {
        {"BadRequest", error_response("Invalid input (ValidationError).")},
        {"Unauthorized",
         error_response("Missing, expired or invalid credentials (PermissionDenied, with a "
                        "`WWW-Authenticate: Bearer` header).")},
        {"Forbidden", error_response("Not allowed (PermissionDenied).")},
        {"NotFound", error_response("No such DocType or document (NotFound).")},
        {"Conflict",
         error_response("A duplicate unique value, a stale `modified`, or a docstatus that does "
                        "not allow this (Conflict).")},
        {"PayloadTooLarge",
         error_response("The body is over the configured limit (ValidationError).")},
        {"TooManyRequests",
         error_response("Too many attempts (TooManyRequests); `Retry-After` says when to retry.")},
        {"InternalError",
         error_response("An unexpected error (InternalError); `details.request_id` is in the "
                        "server log.")},
        {"ServiceUnavailable",
         error_response("The database or another service cannot be reached, or timed out "
                        "(ServiceUnavailable).")}};

    c["parameters"] = {
        {"limit",
         {{"name", "limit"},
          {"in", "query"},
          {"schema", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}, {"default", 20}}}}},
        {"offset",
         {{"name", "offset"},
          {"in", "query"},
          {"schema", {{"type", "integer"}, {"minimum", 0}, {"default", 0}}}}},
        {"fields",
         {{"name", "fields"},
          {"in", "query"},
          {"description", "The keys to return: a comma list (`name,status`) or a JSON array."},
          {"schema", {{"type", "string"}}}}},
        {"order_by",
         {{"name", "order_by"},
          {"in", "query"},
          {"description", "Comma list of fields; `-` before a field sorts descending "
                          "(`-modified,name`). Default: the DocType's sort_field and sort_order."},
          {"schema", {{"type", "string"}}}}},
        {"filters",
         {{"name", "filters"},
          {"in", "query"},
          {"description", "JSON array of `{\"field\",\"operator\",\"value\"}` objects (or "
                          "Frappe's `[[\"field\",\"op\",\"value\"]]`); all must match."},
          {"content", json_content(schema_ref("Filters"))}}},
        {"count",
         {{"name", "count"},
          {"in", "query"},
          {"description", "How `total` is computed; `none` leaves it null and computes "
                          "`has_more` from one row more."},
          {"schema",
           {{"type", "string"}, {"enum", {"exact", "estimated", "none"}}, {"default", "exact"}}}}}};

    c["securitySchemes"] = {
        {"bearerAuth",
         {{"type", "http"},
          {"scheme", "bearer"},
          {"bearerFormat", "JWT"},
          {"description", "An access token from POST /api/v1/auth/login."}}},
        {"apiKey",
         {{"type", "apiKey"},
          {"in", "header"},
          {"name", "X-API-Key"},
          {"description", "An API key (`m user apikey`)."}}},
        {"sessionCookie",
         {{"type", "apiKey"},
          {"in", "cookie"},
          {"name", "m_token"},
          {"description", "The Desk's session (HttpOnly, SameSite), set by login."}}},
        {"streamToken",
         {{"type", "apiKey"},
          {"in", "query"},
          {"name", "token"},
          {"description", "An access token in the query, for EventSource (stream only)."}}}};
    return c;
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

} // namespace

json openapi_document(const core::MetaRegistry& meta,
                      const std::map<std::string, std::vector<std::string>>& methods,
                      const std::string& version,
                      const std::function<bool(const DocType&)>& include) {
    return Builder(meta, methods, include).build(version);
}

} // namespace m::server
