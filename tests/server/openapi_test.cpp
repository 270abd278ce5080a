// The OpenAPI document of GET /schema: its content for a small set of DocTypes, and its validity
// as OpenAPI 3.1 checked by an independent validator (tests/server/openapi/validate.mjs, set up by
// tests/server/openapi/setup.sh).
#include "m/core/doctype_loader.hpp"
#include "m/server/openapi.hpp"
#include "m/server/routes.hpp"

#include "support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sys/wait.h>

using nlohmann::json;

namespace {

m::core::MetaRegistry registry() {
    const json doctypes = json::parse(R"([
        {"name": "Customer", "naming_rule": "field:customer_name", "requires_auth": false,
         "apply_rls": true,
         "permissions": {"read": ["All"], "create": ["Sales User"]},
         "fields": [
            {"name": "customer_name", "type": "data", "required": true, "unique": true,
             "description": "Legal name."},
            {"name": "email", "type": "data", "max_length": 254,
             "pattern": "^[^@]+@[^@]+$"}
         ]},
        {"name": "Sales Invoice Item", "is_child_table": true,
         "fields": [
            {"name": "item", "type": "data", "required": true},
            {"name": "qty", "type": "int", "min": 1, "max": 1000},
            {"name": "rate", "type": "float"}
         ]},
        {"name": "Sales Invoice", "is_submittable": true, "naming_rule": "series:INV-.#####",
         "permissions": {"read": ["Accounts User"], "write": ["Accounts User"],
                         "submit": ["Accounts Manager"]},
         "fields": [
            {"name": "customer", "type": "link", "options": "Customer", "required": true},
            {"name": "status", "type": "select", "options": ["Draft", "Paid", "Overdue"],
             "default": "Draft"},
            {"name": "posting_date", "type": "date", "required": true},
            {"name": "due_at", "type": "datetime"},
            {"name": "reminder_time", "type": "time"},
            {"name": "notes", "type": "text", "max_length": 2000},
            {"name": "total", "type": "decimal", "min": 0, "precision": 2},
            {"name": "is_paid", "type": "check", "default": false},
            {"name": "extra", "type": "json"},
            {"name": "portal_password", "type": "password"},
            {"name": "external_ref", "type": "uuid"},
            {"name": "items", "type": "table", "options": "Sales Invoice Item", "required": true}
         ]},
        {"name": "Audit Entry", "api_resource": false,
         "fields": [{"name": "action", "type": "data"}]},
        {"name": "Note", "naming_rule": "prompt", "track_changes": true,
         "fields": [{"name": "body", "type": "text"}]}
    ])");
    m::core::MetaRegistry meta;
    for (const auto& dt : doctypes) {
        meta.add(m::core::parse_doctype(dt, "test/" + dt.at("name").get<std::string>(), "test"));
    }
    meta.check_references();
    return meta;
}

json document() {
    return m::server::openapi_document(
        registry(), {{"Sales Invoice", {"send_reminder", "mark_paid"}}, {"Audit Entry", {"purge"}}},
        "1.2.3");
}

bool has_node() {
    return std::system("command -v node >/dev/null 2>&1") == 0;
}

struct Validation {
    int exit_code = -1;
    std::string output;
};

/// Runs validate.mjs on `doc`; the output joins stdout and stderr.
Validation validate(const json& doc) {
    m::test::TempDir dir;
    const auto file = dir.path() / "openapi.json";
    m::test::write_file(file, doc.dump(2));
    const std::filesystem::path folder =
        std::filesystem::path(M_SOURCE_DIR) / "tests/server/openapi";
    const std::string command = "node " + m::test::shell_quote((folder / "validate.mjs").string()) +
                                " " + m::test::shell_quote(file.string()) + " 2>&1";
    Validation v;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) v.output.append(buffer, n);
    int status = ::pclose(pipe);
    v.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return v;
}

/// Whether the validator can run; fails the test when node is there but setup.sh was not run.
bool validator_ready() {
    if (!has_node()) {
        if (m::test::service_required("NODE")) FAIL("node is missing (M_TEST_REQUIRE_NODE=1)");
        WARN("node is not installed: OpenAPI validation skipped");
        return false;
    }
    const auto modules = std::filesystem::path(M_SOURCE_DIR) /
                         "tests/server/openapi/node_modules/@seriousme/openapi-schema-validator";
    if (!std::filesystem::exists(modules)) {
        FAIL("the OpenAPI validator is not installed: run tests/server/openapi/setup.sh");
    }
    return true;
}

const json& operation(const json& doc, const std::string& path, const std::string& method) {
    INFO(method << " " << path);
    REQUIRE(doc.at("paths").contains(path));
    REQUIRE(doc.at("paths").at(path).contains(method));
    return doc.at("paths").at(path).at(method);
}

} // namespace

TEST_CASE("the OpenAPI document is valid OpenAPI 3.1", "[openapi]") {
    if (!validator_ready()) return;
    auto v = validate(document());
    INFO(v.output);
    CHECK(v.exit_code == 0);
}

TEST_CASE("the validator refuses broken documents", "[openapi]") {
    if (!validator_ready()) return;
    SECTION("structure: a path that does not start with a slash") {
        json doc = document();
        doc["paths"]["health"] = doc["paths"]["/health"];
        auto v = validate(doc);
        INFO(v.output);
        CHECK(v.exit_code == 1);
    }
    SECTION("a schema with an unknown type") {
        json doc = document();
        doc["components"]["schemas"]["SalesInvoice"]["properties"]["total"]["type"] = "decimal";
        auto v = validate(doc);
        INFO(v.output);
        CHECK(v.exit_code == 1);
        CHECK(v.output.find("SalesInvoice") != std::string::npos);
    }
    SECTION("a $ref that does not resolve") {
        json doc = document();
        doc["components"]["schemas"].erase("SalesInvoiceItem");
        CHECK(validate(doc).exit_code == 1);
    }
    SECTION("a duplicate operationId") {
        json doc = document();
        doc["paths"]["/health"]["get"]["operationId"] = "list_Customer";
        auto v = validate(doc);
        INFO(v.output);
        CHECK(v.exit_code == 1);
        CHECK(v.output.find("operationId 'list_Customer'") != std::string::npos);
    }
    SECTION("a path template without its parameter") {
        json doc = document();
        doc["paths"]["/api/v1/Customer/{id}"].erase("parameters");
        CHECK(validate(doc).exit_code == 1);
    }
    SECTION("OpenAPI 3.0 instead of 3.1") {
        json doc = document();
        doc["openapi"] = "3.0.3";
        CHECK(validate(doc).exit_code == 1);
    }
}

namespace {

/// The route-table pattern of a concrete path of the document ("/api/v1/Sales%20Invoice/{id}" →
/// "/api/v1/{doctype}/{id}").
std::string pattern_of(const std::string& path) {
    static const std::set<std::string> fixed{"auth", "stream", "jobs"};
    const std::string api = "/api/v1/";
    if (path.rfind(api, 0) != 0) return path;
    std::string rest = path.substr(api.size());
    std::string first = rest.substr(0, rest.find('/'));
    if (fixed.count(first)) return path;
    if (first == "rpc") return "/api/v1/rpc/{doctype}/{method}";
    std::size_t slash = rest.find('/');
    return api + "{doctype}" + (slash == std::string::npos ? "" : rest.substr(slash));
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

} // namespace

TEST_CASE("the route table and the OpenAPI document list the same operations", "[openapi]") {
    const json doc = document();
    std::set<std::string> documented;
    for (const auto& [path, item] : doc.at("paths").items()) {
        for (const auto& [method, op] : item.items()) {
            if (method == "parameters" || method.rfind("x-", 0) == 0 || method == "description") {
                continue;
            }
            documented.insert(upper(method) + " " + pattern_of(path));
        }
    }
    std::set<std::string> listed;
    for (const auto& r : m::server::route_table()) {
        if (r.in_schema) listed.insert(r.method + " " + r.path);
    }
    CHECK(documented == listed);
    // Who may call, from the same table: login is open, the DocType list admits guests.
    CHECK(operation(doc, "/api/v1/auth/login", "post").at("security") == json::array());
    CHECK(operation(doc, "/api/meta/doctypes", "get").at("security").at(0) == json::object());
    CHECK(operation(doc, "/health", "get").at("summary") == "Liveness and database check");
}

TEST_CASE("OpenAPI paths follow the DocTypes", "[openapi]") {
    const json doc = document();
    CHECK(doc.at("openapi").get<std::string>() == "3.1.0");
    CHECK(doc.at("info").at("title").get<std::string>() == "m");
    CHECK(doc.at("info").at("version").get<std::string>() == "1.2.3");
    const json& paths = doc.at("paths");

    for (const char* path :
         {"/api/v1/Customer", "/api/v1/Customer/{id}", "/api/v1/Sales%20Invoice",
          "/api/v1/Sales%20Invoice/{id}", "/api/v1/Sales%20Invoice/{id}/submit",
          "/api/v1/Sales%20Invoice/{id}/cancel", "/api/v1/Note",
          "/api/v1/rpc/Sales%20Invoice/send_reminder", "/api/v1/rpc/Sales%20Invoice/mark_paid",
          "/api/meta/doctypes", "/api/meta/{doctype}", "/api/v1/auth/login", "/api/v1/auth/refresh",
          "/api/v1/auth/logout", "/api/v1/auth/me", "/api/v1/stream", "/health", "/metrics",
          "/schema"}) {
        INFO(path);
        CHECK(paths.contains(path));
    }
    // Submit/cancel only for submittable DocTypes; nothing for child tables, api_resource false,
    // or methods of DocTypes that are not API resources.
    CHECK_FALSE(paths.contains("/api/v1/Customer/{id}/submit"));
    CHECK_FALSE(paths.contains("/api/v1/Customer/{id}/cancel"));
    for (const auto& [path, item] : paths.items()) {
        INFO(path);
        CHECK(path.find("Item") == std::string::npos);
        CHECK(path.find("Audit") == std::string::npos);
        CHECK(path.find(' ') == std::string::npos);
    }
    CHECK(paths.at("/api/v1/Sales%20Invoice").at("x-m-doctype").get<std::string>() ==
          "Sales Invoice");

    const json& list = operation(doc, "/api/v1/Sales%20Invoice", "get");
    std::set<std::string> params;
    for (const auto& p : list.at("parameters")) {
        std::string ref = p.at("$ref").get<std::string>();
        params.insert(ref.substr(ref.rfind('/') + 1));
    }
    CHECK(params ==
          std::set<std::string>{"limit", "offset", "fields", "order_by", "filters", "count"});
    CHECK(list.at("responses").at("200").at("content").at("application/json").at("schema") ==
          json{{"$ref", "#/components/schemas/SalesInvoiceList"}});
    const json& limit = doc.at("components").at("parameters").at("limit").at("schema");
    CHECK(limit.at("default").get<int>() == 20);
    CHECK(limit.at("maximum").get<int>() == 1000);
    CHECK(doc.at("components").at("parameters").at("count").at("schema").at("enum") ==
          json{"exact", "estimated", "none"});
    const json& list_schema = doc.at("components").at("schemas").at("SalesInvoiceList");
    CHECK(list_schema.at("required") == json{"items", "total", "limit", "offset", "has_more"});

    CHECK(operation(doc, "/api/v1/Sales%20Invoice", "post").at("responses").contains("201"));
    CHECK(operation(doc, "/api/v1/Sales%20Invoice/{id}", "delete").at("responses").contains("204"));
    CHECK(operation(doc, "/api/v1/Sales%20Invoice/{id}", "put")
              .at("requestBody")
              .at("content")
              .at("application/json")
              .at("schema") == json{{"$ref", "#/components/schemas/SalesInvoicePartial"}});
    CHECK(operation(doc, "/api/v1/Sales%20Invoice/{id}/submit", "post")
              .at("description")
              .get<std::string>()
              .find("Accounts Manager") != std::string::npos);
    CHECK(operation(doc, "/api/v1/stream", "get")
              .at("responses")
              .at("200")
              .at("content")
              .contains("text/event-stream"));
    CHECK(operation(doc, "/metrics", "get").at("security") == json::array());
    CHECK(operation(doc, "/api/v1/Sales%20Invoice/{id}", "put").at("parameters").at(0).at("name") ==
          json("If-Match"));
    CHECK(operation(doc, "/api/meta/doctypes", "get").at("parameters").size() == 4);
    CHECK(operation(doc, "/api/v1/auth/logout", "post").at("responses").contains("204"));
    CHECK(operation(doc, "/api/v1/auth/login", "post").at("responses").contains("429"));

    // Guests may call a DocType that does not require auth; others inherit the global security.
    CHECK(operation(doc, "/api/v1/Customer", "get").at("security").at(0) == json::object());
    CHECK_FALSE(operation(doc, "/api/v1/Sales%20Invoice", "get").contains("security"));
    CHECK(doc.at("security") ==
          json::parse(R"([{"bearerAuth": []}, {"apiKey": []}, {"sessionCookie": []}])"));
}

TEST_CASE("OpenAPI component schemas map the field types", "[openapi]") {
    const json doc = document();
    const json& schemas = doc.at("components").at("schemas");
    REQUIRE(schemas.contains("SalesInvoice"));
    REQUIRE(schemas.contains("SalesInvoiceItem"));
    CHECK_FALSE(schemas.contains("AuditEntry"));
    CHECK_FALSE(schemas.contains("SalesInvoiceItemList")); // child tables have no list reply

    const json& si = schemas.at("SalesInvoice");
    const json& p = si.at("properties");
    CHECK(p.at("status").at("enum") == json{"Draft", "Paid", "Overdue", "", nullptr});
    CHECK(p.at("status").at("default").get<std::string>() == "Draft");
    CHECK(p.at("customer").at("type").get<std::string>() == "string");
    CHECK(p.at("customer").at("maxLength").get<int>() == 140);
    CHECK(p.at("posting_date").at("format").get<std::string>() == "date");
    CHECK(p.at("due_at").at("type") == json{"string", "null"});
    CHECK_FALSE(p.at("due_at").contains("format"));
    CHECK(p.at("due_at").contains("pattern"));
    CHECK(p.at("reminder_time").contains("pattern"));
    CHECK(p.at("notes").at("maxLength").get<int>() == 2000);
    CHECK(p.at("total").at("type") == json{"number", "null"});
    CHECK(p.at("total").at("minimum").get<double>() == 0);
    CHECK(p.at("is_paid").at("type") == json{"boolean", "null"});
    CHECK_FALSE(p.at("extra").contains("type")); // any JSON value
    CHECK(p.at("portal_password").at("writeOnly").get<bool>());
    CHECK(p.at("external_ref").at("format").get<std::string>() == "uuid");
    CHECK(p.at("items").at("type").get<std::string>() == "array");
    CHECK(p.at("items").at("items") == json{{"$ref", "#/components/schemas/SalesInvoiceItem"}});
    CHECK(p.at("items").at("minItems").get<int>() == 1);

    // Standard fields are read-only; docstatus is 0/1/2.
    for (const char* f :
         {"id", "name", "owner", "creation", "modified", "modified_by", "docstatus"}) {
        INFO(f);
        CHECK(p.at(f).at("readOnly").get<bool>());
    }
    CHECK(p.at("id").at("format").get<std::string>() == "uuid");
    CHECK(p.at("docstatus").at("enum") == json{0, 1, 2});
    std::set<std::string> required;
    for (const auto& r : si.at("required")) required.insert(r.get<std::string>());
    for (const char* f : {"id", "name", "docstatus", "customer", "posting_date", "items"}) {
        INFO(f);
        CHECK(required.count(f));
    }
    CHECK_FALSE(required.count("status"));
    CHECK_FALSE(required.count("portal_password"));

    // The partial schema (PUT, list items): nothing required, `modified` may be sent.
    const json& partial = schemas.at("SalesInvoicePartial");
    CHECK_FALSE(partial.contains("required"));
    CHECK_FALSE(partial.at("properties").at("modified").contains("readOnly"));

    // Child rows carry their parent keys; constraints come from the metadata.
    const json& item = schemas.at("SalesInvoiceItem").at("properties");
    CHECK(item.at("idx").at("readOnly").get<bool>());
    CHECK(item.at("parent_id").at("format").get<std::string>() == "uuid");
    CHECK(item.at("qty").at("minimum").get<double>() == 1);
    CHECK(item.at("qty").at("maximum").get<double>() == 1000);
    CHECK(item.at("item").at("minLength").get<int>() == 1);

    const json& customer = schemas.at("Customer").at("properties");
    CHECK(customer.at("email").at("pattern").get<std::string>() == "^[^@]+@[^@]+$");
    CHECK(customer.at("email").at("maxLength").get<int>() == 254);
    CHECK(customer.at("customer_name").at("description").get<std::string>() == "Legal name.");
    CHECK(schemas.at("Note").at("properties").at("name").value("readOnly", false) == false);

    const json& error = schemas.at("Error");
    for (const char* e : {"ValidationError", "PermissionDenied", "NotFound", "Conflict",
                          "InternalError", "TooManyRequests", "ServiceUnavailable"}) {
        INFO(e);
        const json& names = error.at("properties").at("error").at("enum");
        CHECK(std::find(names.begin(), names.end(), json(e)) != names.end());
    }

    const json& security = doc.at("components").at("securitySchemes");
    CHECK(security.at("bearerAuth").at("scheme").get<std::string>() == "bearer");
    CHECK(security.at("bearerAuth").at("bearerFormat").get<std::string>() == "JWT");
    CHECK(security.at("apiKey").at("in").get<std::string>() == "header");
    CHECK(security.at("apiKey").at("name").get<std::string>() == "X-API-Key");
}

TEST_CASE("every OpenAPI error response is the Error schema", "[openapi]") {
    const json doc = document();
    const json& responses = doc.at("components").at("responses");
    std::set<std::string> operation_ids;
    std::size_t operations = 0;
    for (const auto& [path, item] : doc.at("paths").items()) {
        for (const auto& [method, op] : item.items()) {
            static const std::set<std::string> methods{"get", "put", "post", "delete"};
            if (!methods.count(method)) continue;
            ++operations;
            INFO(method << " " << path);
            operation_ids.insert(op.at("operationId").get<std::string>());
            for (const auto& [code, response] : op.at("responses").items()) {
                // /health answers 503 with its own body (status and what is wrong).
                if (code < "400" || (path == "/health" && code == "503")) continue;
                INFO(code);
                REQUIRE(response.contains("$ref"));
                std::string ref = response.at("$ref").get<std::string>();
                const json& target = responses.at(ref.substr(ref.rfind('/') + 1));
                CHECK(target.at("content").at("application/json").at("schema") ==
                      json{{"$ref", "#/components/schemas/Error"}});
            }
        }
    }
    CHECK(operation_ids.size() == operations);
}

TEST_CASE("OpenAPI component names stay unique when DocType names collide", "[openapi]") {
    m::core::MetaRegistry meta;
    // "Error" would take the shared Error schema; "Sales Invoice List" the list reply of "Sales
    // Invoice".
    for (const char* name : {"Error", "Sales Invoice", "Sales Invoice List"}) {
        meta.add(m::core::parse_doctype(json{{"name", name}}, name, "test"));
    }
    const json doc = m::server::openapi_document(meta, {}, "0");
    const json& schemas = doc.at("components").at("schemas");
    CHECK(schemas.at("Error").at("properties").contains("message"));
    CHECK(schemas.at("Error_2").at("title").get<std::string>() == "Error");
    CHECK(schemas.at("SalesInvoiceList").at("title").get<std::string>() == "Sales Invoice list");
    CHECK(schemas.at("SalesInvoiceList_2").at("title").get<std::string>() == "Sales Invoice List");
    if (validator_ready()) {
        auto v = validate(doc);
        INFO(v.output);
        CHECK(v.exit_code == 0);
    }
}
