#include "m/core/doctype_loader.hpp"
#include "m/core/error.hpp"

#include <catch2/catch.hpp>

using m::core::Error;
using m::core::ErrorKind;
using nlohmann::json;

namespace {

json customer() {
    return json::parse(R"({
        "name": "Customer",
        "fields": [
            {"name": "customer_name", "type": "data", "required": true},
            {"name": "status", "type": "select", "options": ["Open", "Closed"]},
            {"name": "credit_limit", "type": "decimal", "min": 0}
        ]
    })");
}

std::string error_of(const json& j) {
    try {
        m::core::parse_doctype(j, "apps/x/doctypes/customer/doctype.json", "x");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::validation);
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("a valid DocType parses with standard columns first", "[metadata]") {
    auto dt = m::core::parse_doctype(customer(), "customer.json", "billing");
    CHECK(dt.name == "Customer");
    CHECK(dt.table_name() == "customer");
    CHECK(dt.naming.kind == m::core::NamingRule::Kind::uuid);
    REQUIRE(dt.columns().size() == 7 + 3);
    CHECK(dt.columns()[0].name == "id");
    CHECK(dt.columns()[6].name == "docstatus");
    CHECK(dt.columns()[7].name == "customer_name");
    CHECK(dt.find("status")->select_options == std::vector<std::string>{"Open", "Closed"});
    CHECK(dt.find("customer_name")->label == "Customer name");
}

TEST_CASE("child tables get the parent columns", "[metadata]") {
    json j = json::parse(R"({"name": "Invoice Item", "is_child_table": true,
                             "fields": [{"name": "qty", "type": "int"}]})");
    auto dt = m::core::parse_doctype(j, "f", "a");
    CHECK(dt.table_name() == "invoice_item");
    CHECK(dt.find("parent_id") != nullptr);
    CHECK(dt.find("idx") != nullptr);
    CHECK_FALSE(dt.api_resource);
}

TEST_CASE("snake_case of DocType names", "[metadata]") {
    CHECK(m::core::snake_case("Sales Invoice") == "sales_invoice");
    CHECK(m::core::snake_case("ToDo") == "to_do");
    CHECK(m::core::snake_case("HTTPLog") == "http_log");
    CHECK(m::core::snake_case("Item2 Price") == "item2_price");
}

TEST_CASE("invalid metadata is refused with file, field and reason", "[metadata][bad-input]") {
    json j = customer();
    SECTION("unknown field type") {
        j["fields"][0]["type"] = "money";
        auto msg = error_of(j);
        CHECK_THAT(msg, Catch::Contains("apps/x/doctypes/customer/doctype.json"));
        CHECK_THAT(msg, Catch::Contains("field 'customer_name'"));
        CHECK_THAT(msg, Catch::Contains("unknown type 'money'"));
    }
    SECTION("SQL keyword as field name") {
        j["fields"][0]["name"] = "select";
        CHECK_THAT(error_of(j), Catch::Contains("field 'select': is a reserved SQL word"));
    }
    SECTION("quote in field name") {
        j["fields"][0]["name"] = "bad\"name";
        CHECK_THAT(error_of(j), Catch::Contains("invalid name"));
    }
    SECTION("standard field redefined") {
        j["fields"][0]["name"] = "owner";
        CHECK_THAT(error_of(j), Catch::Contains("field 'owner': is a standard field"));
    }
    SECTION("duplicate field") {
        j["fields"][1]["name"] = "customer_name";
        CHECK_THAT(error_of(j), Catch::Contains("is defined twice"));
    }
    SECTION("unknown top-level key") {
        j["nmae"] = "x";
        CHECK_THAT(error_of(j), Catch::Contains("unknown key 'nmae'"));
    }
    SECTION("unknown field key") {
        j["fields"][0]["requird"] = true;
        CHECK_THAT(error_of(j), Catch::Contains("field 'customer_name': unknown key 'requird'"));
    }
    SECTION("select without options") {
        j["fields"][1].erase("options");
        CHECK_THAT(error_of(j), Catch::Contains("needs 'options'"));
    }
    SECTION("bad DocType name") {
        j["name"] = "customer; drop";
        CHECK_THAT(error_of(j), Catch::Contains("invalid DocType name"));
    }
    SECTION("min greater than max") {
        j["fields"][2]["max"] = -1;
        CHECK_THAT(error_of(j), Catch::Contains("'min' is greater than 'max'"));
    }
    SECTION("bad naming rule") {
        j["naming_rule"] = "field:nope";
        CHECK_THAT(error_of(j), Catch::Contains("names unknown field 'nope'"));
    }
    SECTION("bad pattern") {
        j["fields"][0]["pattern"] = "([";
        CHECK_THAT(error_of(j), Catch::Contains("not a valid regular expression"));
    }
    SECTION("index on unknown field") {
        j["indexes"] = json::parse(R"([["status", "nope"]])");
        CHECK_THAT(error_of(j), Catch::Contains("indexes[0]: unknown field 'nope'"));
    }
    SECTION("wrong value type of a flag") {
        j["is_submittable"] = "yes";
        CHECK_THAT(error_of(j), Catch::Contains("'is_submittable' must be true or false"));
    }
}

TEST_CASE("references between DocTypes are checked", "[metadata][bad-input]") {
    m::core::MetaRegistry reg;
    reg.add(m::core::parse_doctype(
        json::parse(R"({"name": "Invoice", "fields": [{"name": "customer", "type": "link",
                        "options": "Customer"}]})"),
        "invoice.json", "a"));
    try {
        reg.check_references();
        FAIL("a link to a missing DocType was accepted");
    } catch (const Error& e) {
        CHECK_THAT(std::string(e.what()),
                   Catch::Contains("invoice.json: field 'customer': link target DocType "
                                   "'Customer' does not exist"));
    }
    reg.add(m::core::parse_doctype(json::parse(R"({"name": "Customer"})"), "customer.json", "a"));
    CHECK_NOTHROW(reg.check_references());
    CHECK_THROWS_AS(
        reg.add(m::core::parse_doctype(json::parse(R"({"name": "Customer"})"), "c2", "b")), Error);
    CHECK_THROWS_WITH(reg.get("Nope"), Catch::Contains("unknown DocType 'Nope'"));
}

TEST_CASE("a table field must point at a child table", "[metadata][bad-input]") {
    m::core::MetaRegistry reg;
    reg.add(m::core::parse_doctype(json::parse(R"({"name": "Line"})"), "line.json", "a"));
    reg.add(m::core::parse_doctype(
        json::parse(R"({"name": "Order Doc", "fields": [{"name": "lines", "type": "table",
                        "options": "Line"}]})"),
        "order.json", "a"));
    CHECK_THROWS_WITH(reg.check_references(), Catch::Contains("is not a child table"));
}
