#include "m/core/doctype_loader.hpp"
#include "m/core/error.hpp"
#include "m/core/query.hpp"

#include <catch2/catch.hpp>

using m::core::FilterOp;
using m::core::Json;

namespace {
m::core::DocType customer() {
    return m::core::parse_doctype(nlohmann::json::parse(R"({
        "name": "Customer",
        "fields": [
            {"name": "customer_name", "type": "data"},
            {"name": "credit_limit", "type": "decimal"},
            {"name": "active", "type": "check"},
            {"name": "secret", "type": "password"}
        ]})"),
                                  "customer.json", "billing");
}
} // namespace

TEST_CASE("both filter syntaxes parse to the same filters", "[query]") {
    auto dt = customer();
    auto a = m::core::parse_filters_text(
        dt, R"([{"field":"credit_limit","operator":"gt","value":100}])");
    auto b = m::core::parse_filters_text(dt, R"([["credit_limit", ">", 100]])");
    auto c = m::core::parse_filters_text(dt, R"([["Customer", "credit_limit", ">", "100"]])");
    for (const auto* f : {&a, &b, &c}) {
        REQUIRE(f->size() == 1);
        CHECK((*f)[0].field == "credit_limit");
        CHECK((*f)[0].op == FilterOp::gt);
        CHECK((*f)[0].value == Json(100));
    }
    auto d = m::core::parse_filters_text(dt, R"({"customer_name": "Acme", "active": 1})");
    REQUIRE(d.size() == 2);
    CHECK(d[1].value == Json(true));
    auto e = m::core::parse_filters_text(
        dt, R"([["customer_name", "in", "a, b"], ["name", "is", "set"]])");
    CHECK(e[0].value == Json::parse(R"(["a","b"])"));
    CHECK(e[1].op == FilterOp::is_not_null);
}

TEST_CASE("hostile filters, fields and order_by are refused", "[query][bad-input]") {
    auto dt = customer();
    using m::core::parse_filters_text;
    CHECK_THROWS_WITH(parse_filters_text(dt, R"([["nope", "=", 1]])"),
                      Catch::Contains("unknown field 'nope'"));
    CHECK_THROWS_WITH(parse_filters_text(dt, R"([["name; drop table customer", "=", 1]])"),
                      Catch::Contains("unknown field"));
    CHECK_THROWS_WITH(parse_filters_text(dt, R"([["name", "= 1 OR 1=1 --", 1]])"),
                      Catch::Contains("unknown operator"));
    CHECK_THROWS_WITH(parse_filters_text(dt, R"([["credit_limit", ">", "lots"]])"),
                      Catch::Contains("expected a number"));
    CHECK_THROWS_WITH(parse_filters_text(dt, "[{"), Catch::Contains("malformed JSON"));
    CHECK_THROWS_WITH(parse_filters_text(dt, R"([["secret", "=", "x"]])"),
                      Catch::Contains("password field"));
    CHECK_THROWS_WITH(m::core::parse_order_by(dt, "-secret"), Catch::Contains("password field"));
    CHECK_THROWS_WITH(m::core::parse_order_by(dt, "name, secret asc"),
                      Catch::Contains("password field"));
    CHECK_THROWS_WITH(parse_filters_text(dt, std::string(65, '[') + std::string(65, ']')),
                      Catch::Contains("nested deeper than 64"));
    CHECK_THROWS_WITH(m::core::parse_order_by(dt, "name; DROP TABLE customer"),
                      Catch::Contains("unknown field"));
    CHECK_THROWS_WITH(m::core::parse_order_by(dt, "name desc, modified sideways"),
                      Catch::Contains("not asc or desc"));
    CHECK_THROWS_WITH(m::core::parse_fields(dt, "name,\"x\""), Catch::Contains("unknown field"));
    CHECK_THROWS_WITH(m::core::parse_fields(dt, "secret"), Catch::Contains("write-only"));
}

TEST_CASE("order_by accepts both spellings", "[query]") {
    auto dt = customer();
    auto o = m::core::parse_order_by(dt, "-modified, customer_name asc,credit_limit DESC");
    REQUIRE(o.size() == 3);
    CHECK(o[0].descending);
    CHECK_FALSE(o[1].descending);
    CHECK(o[2].descending);
    auto f = m::core::parse_fields(dt, R"(["customer_name"])");
    CHECK(f == std::vector<std::string>{"id", "name", "customer_name"});
}
