// The paths of the OpenAPI document that do not come from a DocType: health, metrics and the
// schema itself, the metadata, authentication, and the live event stream.
#include "openapi_builder.hpp"

#include "m/server/routes.hpp"

#include <cctype>

namespace m::server::openapi {

namespace {

json reply(const char* description, const std::string& schema) {
    return json{{"description", description}, {"content", json_content(schema_ref(schema))}};
}

} // namespace

// The summary and who may call come from the route table (routes.hpp), so `m routes`, the
// server and this document cannot tell different stories.
json Builder::fixed_operation(const char* tag, const char* id, std::string_view method,
                              std::string_view path) {
    const json none = json::array();
    const json optional = json::array({json::object(),
                                       {{"bearerAuth", json::array()}},
                                       {{"apiKey", json::array()}},
                                       {{"sessionCookie", json::array()}}});
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
}

void Builder::add_fixed_paths() {
    add_system_paths();
    add_meta_paths();
    add_auth_paths();
    add_stream_path();
}

void Builder::add_system_paths() {
    json health = fixed_operation("system", "health", "GET", "/health");
    health["responses"] = {{"200", reply("The server and its database are up.", "Health")},
                           {"503", reply("The database cannot be reached.", "Health")}};
    add_errors(health["responses"], {"500"});
    m_paths["/health"] = {{"get", health}};

    json metrics = fixed_operation("system", "metrics", "GET", "/metrics");
    metrics["responses"] = {{"200",
                             {{"description", "Prometheus text exposition format 0.0.4."},
                              {"content", {{"text/plain", {{"schema", {{"type", "string"}}}}}}}}}};
    add_errors(metrics["responses"], {"500"});
    m_paths["/metrics"] = {{"get", metrics}};

    json schema = fixed_operation("system", "schema", "GET", "/schema");
    schema["responses"] = {{"200",
                            {{"description", "OpenAPI 3.1, generated from the metadata."},
                             {"content", json_content({{"type", "object"}})}}}};
    add_errors(schema["responses"], {"500"});
    m_paths["/schema"] = {{"get", schema}};
}

void Builder::add_meta_paths() {
    json doctypes = fixed_operation("meta", "listDocTypes", "GET", "/api/meta/doctypes");
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

    json meta = fixed_operation("meta", "getDocTypeMeta", "GET", "/api/meta/{doctype}");
    meta["description"] = "Fields, layout, callable methods and the caller's permissions.";
    meta["parameters"] = {{{"name", "doctype"},
                           {"in", "path"},
                           {"required", true},
                           {"description", "The DocType name (or its table name)."},
                           {"schema", {{"type", "string"}}}}};
    meta["responses"] = {{"200", reply("The DocType's metadata.", "DocTypeMeta")}};
    add_errors(meta["responses"], {"401", "403", "404", "500"});
    m_paths["/api/meta/{doctype}"] = {{"get", meta}};
}

void Builder::add_auth_paths() {
    json login = fixed_operation("auth", "login", "POST", "/api/v1/auth/login");
    login["description"] = "Also sets the Desk's session cookie.";
    login["requestBody"] = {{"required", true},
                            {"content", json_content(schema_ref("LoginRequest"))}};
    login["responses"] = {{"200", reply("Tokens.", "TokenReply")}};
    add_errors(login["responses"], {"400", "401", "429", "500", "503"});
    m_paths["/api/v1/auth/login"] = {{"post", login}};

    json refresh = fixed_operation("auth", "refreshToken", "POST", "/api/v1/auth/refresh");
    refresh["requestBody"] = {{"required", true},
                              {"content", json_content(schema_ref("RefreshRequest"))}};
    refresh["responses"] = {
        {"200", reply("A new access token (the refresh token stays valid).", "TokenReply")}};
    add_errors(refresh["responses"], {"400", "401", "500", "503"});
    m_paths["/api/v1/auth/refresh"] = {{"post", refresh}};

    json logout = fixed_operation("auth", "logout", "POST", "/api/v1/auth/logout");
    logout["description"] = "Revokes the refresh token of the body, or else the token that "
                            "authenticates the request, and clears the session cookie.";
    logout["requestBody"] = {{"required", false},
                             {"content", json_content(schema_ref("LogoutRequest"))}};
    logout["responses"] = {{"204", {{"description", "Logged out."}}}};
    add_errors(logout["responses"], {"400", "401", "500", "503"});
    m_paths["/api/v1/auth/logout"] = {{"post", logout}};

    json me = fixed_operation("auth", "me", "GET", "/api/v1/auth/me");
    me["responses"] = {
        {"200", reply("Who is calling (only `authenticated: false` for a guest).", "Me")}};
    add_errors(me["responses"], {"401", "500", "503"});
    m_paths["/api/v1/auth/me"] = {{"get", me}};
}

void Builder::add_stream_path() {
    json stream = fixed_operation("system", "stream", "GET", "/api/v1/stream");
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

} // namespace m::server::openapi
