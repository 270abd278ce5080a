// The paths of a DocType in the OpenAPI document: list and create, read, update and delete by id,
// submit and cancel, the version history, and its callable methods, each with who may call it.
#include "openapi_builder.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace m::server::openapi {

namespace {

std::string roles_text(const DocType& dt, const std::string& action) {
    auto it = dt.permissions.find(action);
    if (it == dt.permissions.end() || it->second.empty()) {
        return fmt::format("Permission `{}`: Admin and System only.", action);
    }
    return fmt::format("Permission `{}`: {} (Admin and System always).", action,
                       fmt::join(it->second, ", "));
}

json id_parameter() {
    return {{"name", "id"},
            {"in", "path"},
            {"required", true},
            {"description", "The document's id (UUID) or name."},
            {"schema", {{"type", "string"}}}};
}

} // namespace

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
    add_collection_path(dt, key, base);
    add_item_path(dt, key, base);
    if (dt.is_submittable) add_docstatus_paths(dt, key, base);
    if (dt.track_changes) add_versions_path(dt, key, base);
    add_method_paths(dt, key);
}

void Builder::add_collection_path(const DocType& dt, const std::string& key,
                                  const std::string& base) {
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
}

void Builder::add_item_path(const DocType& dt, const std::string& key, const std::string& base) {
    const json doc = json_content(schema_ref(key));
    json item = {{"x-m-doctype", dt.name}, {"parameters", {id_parameter()}}};
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
}

void Builder::add_docstatus_paths(const DocType& dt, const std::string& key,
                                  const std::string& base) {
    const json doc = json_content(schema_ref(key));
    for (const char* action : {"submit", "cancel"}) {
        const std::string a = action;
        json op =
            operation(dt, a + "_" + key, (a == "submit" ? "Submit a " : "Cancel a ") + dt.name, a);
        op["responses"] = {
            {"200",
             {{"description", a == "submit" ? "The submitted document (docstatus 1)."
                                            : "The cancelled document (docstatus 2)."},
              {"content", doc}}}};
        add_errors(op["responses"], {"400", "401", "403", "404", "409", "500", "503"});
        m_paths[base + "/{id}/" + a] = {
            {"x-m-doctype", dt.name}, {"parameters", {id_parameter()}}, {"post", op}};
    }
}

void Builder::add_versions_path(const DocType& dt, const std::string& key,
                                const std::string& base) {
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
           json_content({{"type", "object"},
                         {"required", {"items"}},
                         {"properties", {{"items", {{"type", "array"}, {"items", version}}}}}})}}}};
    add_errors(op["responses"], {"401", "403", "404", "500", "503"});
    m_paths[base + "/{id}/versions"] = {
        {"x-m-doctype", dt.name}, {"parameters", {id_parameter()}}, {"get", op}};
}

void Builder::add_method_paths(const DocType& dt, const std::string& key) {
    auto it = m_methods.find(dt.name);
    if (it == m_methods.end()) return;
    std::set<std::string> seen;
    for (const auto& method : it->second) {
        if (method.empty() || !seen.insert(method).second) continue;
        json op =
            operation(dt, "call_" + key + "_" + method, "Call " + dt.name + "." + method, "read");
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

} // namespace m::server::openapi
