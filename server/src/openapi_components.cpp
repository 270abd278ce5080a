// The shared components of the OpenAPI document: the schemas every DocType's paths refer to
// (the Error body, filters, RPC, metadata, authentication), the error responses by status, the
// list parameters and the security schemes.
#include "openapi_builder.hpp"

namespace m::server::openapi {

namespace {

// The "error" values of the Error body (docs/reference/http-api.md, "Errors"). They must match
// error_status() in reply.cpp (401 is PermissionDenied there, 413 ValidationError).
const std::vector<std::string>& error_names() {
    static const std::vector<std::string> names{
        "ValidationError", "PermissionDenied", "NotFound",          "Conflict",
        "InternalError",   "TooManyRequests",  "ServiceUnavailable"};
    return names;
}

json error_schema() {
    return {{"type", "object"},
            {"required", json::array({"error", "message"})},
            {"properties",
             {{"error", {{"type", "string"}, {"enum", error_names()}}},
              {"message", {{"type", "string"}, {"description", "Names the thing at fault."}}},
              {"details",
               {{"description", "Structured data, e.g. the field errors of a document; the id of "
                                "an internal error, which is in the server log."}}}}}};
}

json filter_schemas() {
    json op_enum = {"eq",     "ne",   "lt",       "lte",     "gt",          "gte",    "in",
                    "not_in", "like", "not_like", "is_null", "is_not_null", "between"};
    return {{"Filter",
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
              {"items", {{"oneOf", {schema_ref("Filter"), schema_ref("FilterTriple")}}}}}}};
}

json rpc_schemas() {
    return {
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
          {"properties", {{"result", json::object()}}}}}};
}

json meta_schemas() {
    return {
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
               {"methods", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}}}}}}};
}

json auth_schemas() {
    return {{"LoginRequest",
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
}

json error_responses() {
    auto error_response = [](const char* description) {
        return json{{"description", description}, {"content", json_content(schema_ref("Error"))}};
    };
    return {
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
}

json list_parameters() {
    return {
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
}

json security_schemes() {
    return {{"bearerAuth",
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
}

} // namespace

json Builder::components_fixed() {
    json c = json::object();
    json schemas = {{"Error", error_schema()}};
    schemas.update(filter_schemas());
    schemas.update(rpc_schemas());
    schemas.update(meta_schemas());
    schemas.update(auth_schemas());
    c["schemas"] = schemas;
    c["responses"] = error_responses();
    c["parameters"] = list_parameters();
    c["securitySchemes"] = security_schemes();
    return c;
}

} // namespace m::server::openapi
