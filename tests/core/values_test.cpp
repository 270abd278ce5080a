#include "m/core/error.hpp"
#include "m/core/values.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using m::core::Field;
using m::core::FieldType;
using m::core::Json;

namespace {
Field field(FieldType type) {
    Field f;
    f.name = "f";
    f.type = type;
    return f;
}
} // namespace

TEST_CASE("values are coerced to their canonical form", "[values]") {
    using m::core::coerce_value;
    CHECK(coerce_value(field(FieldType::int_), Json("42")) == Json(42));
    CHECK(coerce_value(field(FieldType::int_), Json(42.0)) == Json(42));
    CHECK(coerce_value(field(FieldType::check), Json(1)) == Json(true));
    CHECK(coerce_value(field(FieldType::decimal), Json("12.5")) == Json(12.5));
    CHECK(coerce_value(field(FieldType::datetime), Json("2026-01-02T03:04:05Z")) ==
          Json("2026-01-02 03:04:05.000000"));
    CHECK(coerce_value(field(FieldType::datetime), Json("2026-01-01T01:30:00+02:00")) ==
          Json("2025-12-31 23:30:00.000000"));
    CHECK(coerce_value(field(FieldType::datetime), Json("2026-03-04")) ==
          Json("2026-03-04 00:00:00.000000"));
    CHECK(coerce_value(field(FieldType::time), Json("09:05")) == Json("09:05:00"));
    CHECK(coerce_value(field(FieldType::uuid), Json("6F9619FF-8B86-D011-B42D-00C04FC964FF")) ==
          Json("6f9619ff-8b86-d011-b42d-00c04fc964ff"));
    CHECK(coerce_value(field(FieldType::json), Json::parse(R"({"a":[1]})")) ==
          Json::parse(R"({"a":[1]})"));
    CHECK(coerce_value(field(FieldType::int_), Json(nullptr)).is_null());
}

TEST_CASE("values of the wrong type are refused with the field name", "[values][bad-input]") {
    using m::core::coerce_value;
    CHECK_THROWS_WITH(coerce_value(field(FieldType::int_), Json("abc")),
                      "field 'f': expected an integer, got \"abc\"");
    CHECK_THROWS_WITH(coerce_value(field(FieldType::int_), Json(1.5)), Catch::Contains("integer"));
    CHECK_THROWS_WITH(coerce_value(field(FieldType::data), Json(3)), Catch::Contains("a string"));
    CHECK_THROWS_WITH(coerce_value(field(FieldType::date), Json("2026-02-30")),
                      Catch::Contains("a date"));
    CHECK_THROWS_WITH(coerce_value(field(FieldType::check), Json("yes")),
                      Catch::Contains("true or false"));
    CHECK_THROWS_WITH(coerce_value(field(FieldType::time), Json("25:00")),
                      Catch::Contains("a time"));
    CHECK_THROWS_WITH(coerce_value(field(FieldType::uuid), Json("not-a-uuid")),
                      Catch::Contains("a UUID"));
    Field sel = field(FieldType::select);
    sel.select_options = {"Open", "Closed"};
    CHECK_THROWS_WITH(coerce_value(sel, Json("Maybe")),
                      "field 'f': 'Maybe' is not one of Open, Closed");
}

TEST_CASE("values read back from SQL text", "[values]") {
    using m::core::from_sql;
    CHECK(from_sql(field(FieldType::check), std::string("t")) == Json(true));
    CHECK(from_sql(field(FieldType::check), std::string("0")) == Json(false));
    CHECK(from_sql(field(FieldType::decimal), std::string("12.500000000")) == Json(12.5));
    CHECK(from_sql(field(FieldType::datetime), std::string("2026-11-26 10:00:00")) ==
          Json("2026-11-26 10:00:00.000000"));
    CHECK(from_sql(field(FieldType::json), std::string(R"({"k": 1})")) ==
          Json::parse(R"({"k":1})"));
    CHECK(from_sql(field(FieldType::int_), std::nullopt).is_null());
}

TEST_CASE("timestamps and ids have their canonical shapes", "[values]") {
    auto ts = m::core::now_timestamp();
    CHECK(ts.size() == 26);
    CHECK(ts[10] == ' ');
    auto a = m::core::new_uuid();
    auto b = m::core::new_uuid();
    CHECK(a.size() == 36);
    CHECK(a[14] == '4');
    CHECK(a != b);
}

TEST_CASE("API keys: shown once as <key_id>.<secret>, stored as the secret's SHA-256", "[values]") {
    // printf 'abc' | openssl dgst -sha256 ; printf '' | openssl dgst -sha256
    CHECK(m::core::api_key_secret_hash("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(m::core::api_key_secret_hash("") ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    std::set<std::string> seen;
    for (int i = 0; i < 50; ++i) {
        auto key = m::core::new_api_key();
        auto dot = key.key.find('.');
        REQUIRE(dot != std::string::npos);
        CHECK(key.key.substr(0, dot) == key.key_id);
        CHECK(key.key_id.rfind("mk_", 0) == 0);
        CHECK(key.key.size() - dot - 1 == 43); // 32 random bytes, base64url without padding
        CHECK(m::core::api_key_secret_hash(key.key.substr(dot + 1)) == key.secret_hash);
        seen.insert(key.key);
    }
    CHECK(seen.size() == 50);
}
