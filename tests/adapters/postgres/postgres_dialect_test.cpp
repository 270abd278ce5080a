// The PostgreSQL dialect and database against a real server: column types and their spellings,
// URLs with passwords, an unreachable server, introspection and the planner's row estimates.
#include "postgres_fixture.hpp"

using namespace m::test::postgres_fixture;

TEST_CASE("postgres dialect spells column types in normalised form", "[postgres]") {
    const pg::PostgresDialect dialect;
    CHECK(dialect.name() == "postgres");
    CHECK(dialect.placeholder(1) == "$1");
    CHECK(dialect.placeholder(12) == "$12");
    CHECK(dialect.cast_to_text("\"qty\"") == "CAST(\"qty\" AS text)");
    CHECK(dialect.supports_alter_column_type());
    CHECK(dialect.alter_column_type_sql("todo", "qty", "numeric(21,9)") ==
          "ALTER TABLE \"todo\" ALTER COLUMN \"qty\" TYPE numeric(21,9) USING "
          "\"qty\"::numeric(21,9)");
    CHECK_THROWS_AS(dialect.alter_column_type_sql("to do", "qty", "text"), Error);
    CHECK(dialect.uuid_type() == "uuid");
    CHECK(dialect.name_type() == "varchar(140)");
    CHECK(dialect.timestamp_type() == "timestamp");
    CHECK(dialect.integer_type() == "integer");

    CHECK(dialect.column_type(make_field("a", FieldType::data)) == "varchar(140)");
    CHECK(dialect.column_type(make_field("a", FieldType::select)) == "varchar(140)");
    CHECK(dialect.column_type(make_field("a", FieldType::link)) == "varchar(140)");
    Field long_data = make_field("a", FieldType::data);
    long_data.max_length = 500;
    CHECK(dialect.column_type(long_data) == "varchar(500)");
    long_data.max_length = 20; // shorter limits are validated, not enforced by the column
    CHECK(dialect.column_type(long_data) == "varchar(140)");
    CHECK(dialect.column_type(make_field("a", FieldType::text)) == "text");
    CHECK(dialect.column_type(make_field("a", FieldType::password)) == "text");
    CHECK(dialect.column_type(make_field("a", FieldType::int_)) == "bigint");
    CHECK(dialect.column_type(make_field("a", FieldType::float_)) == "double precision");
    Field money = make_field("a", FieldType::decimal);
    CHECK(dialect.column_type(money) == "numeric(21,9)");
    money.precision = 2;
    CHECK(dialect.column_type(money) == "numeric(21,2)");
    CHECK(dialect.column_type(make_field("a", FieldType::check)) == "boolean");
    CHECK(dialect.column_type(make_field("a", FieldType::date)) == "date");
    CHECK(dialect.column_type(make_field("a", FieldType::datetime)) == "timestamp");
    CHECK(dialect.column_type(make_field("a", FieldType::time)) == "time");
    CHECK(dialect.column_type(make_field("a", FieldType::uuid)) == "uuid");
    CHECK(dialect.column_type(make_field("a", FieldType::json)) == "jsonb");
    const Error no_column =
        error_of([&] { dialect.column_type(make_field("items", FieldType::table)); });
    CHECK(no_column.kind() == ErrorKind::internal);
}

TEST_CASE("postgres dialect normalises type spellings", "[postgres]") {
    const pg::PostgresDialect dialect;
    CHECK(dialect.normalize_type("character varying(140)") == "varchar(140)");
    CHECK(dialect.normalize_type("  Character  Varying (255) ") == "varchar(255)");
    CHECK(dialect.normalize_type("character varying") == "varchar");
    CHECK(dialect.normalize_type("timestamp without time zone") == "timestamp");
    CHECK(dialect.normalize_type("timestamp(6) without time zone") == "timestamp");
    CHECK(dialect.normalize_type("timestamp(3) without time zone") == "timestamp(3)");
    CHECK(dialect.normalize_type("timestamp with time zone") == "timestamptz");
    CHECK(dialect.normalize_type("time without time zone") == "time");
    CHECK(dialect.normalize_type("int8") == "bigint");
    CHECK(dialect.normalize_type("int4") == "integer");
    CHECK(dialect.normalize_type("int") == "integer");
    CHECK(dialect.normalize_type("INTEGER") == "integer");
    CHECK(dialect.normalize_type("float8") == "double precision");
    CHECK(dialect.normalize_type("double   precision") == "double precision");
    CHECK(dialect.normalize_type("bool") == "boolean");
    CHECK(dialect.normalize_type("numeric(21, 9)") == "numeric(21,9)");
    CHECK(dialect.normalize_type("decimal( 21 , 2 )") == "numeric(21,2)");
    CHECK(dialect.normalize_type("int4[]") == "integer[]");
    CHECK(dialect.normalize_type("jsonb") == "jsonb");
    CHECK(dialect.normalize_type("uuid") == "uuid");
}

TEST_CASE("postgres database masks passwords in URLs", "[postgres]") {
    CHECK(m::core::mask_url("postgres://alice:s3cret@db.example:5432/app") ==
          "postgres://alice:***@db.example:5432/app");
    CHECK(m::core::mask_url("postgresql://alice@db/app?sslmode=require") ==
          "postgresql://alice@db/app?sslmode=require");
    CHECK(m::core::mask_url("postgresql://db/app?user=a&password=x%40y&sslmode=disable") ==
          "postgresql://db/app?user=a&password=***&sslmode=disable");
    CHECK(m::core::mask_url("postgresql://a:b@c@host") == "postgresql://a:***@host");

    const pg::PostgresDatabase db("postgresql://alice:s3cret@127.0.0.1:1/app", 2);
    CHECK(db.display_url() == "postgresql://alice:***@127.0.0.1:1/app");
    CHECK(db.service_name() == "database");
    CHECK(db.dialect().name() == "postgres");

    const Error wrong_scheme = error_of([] { pg::PostgresDatabase("mysql://u:pw@h/db", 1); });
    CHECK(wrong_scheme.kind() == ErrorKind::validation);
    CHECK(std::string(wrong_scheme.what()).find("pw") == std::string::npos);
}

TEST_CASE("postgres database reports an unreachable server as unavailable", "[postgres]") {
    const std::string port = std::to_string(unused_port());
    pg::PostgresDatabase db("postgres://alice:hunter2-secret@127.0.0.1:" + port + "/app", 2);
    const Error error = error_of([&] { db.start(); });
    const std::string message = error.what();
    CHECK(error.kind() == ErrorKind::unavailable);
    CHECK(message.starts_with("database: cannot connect to postgres://alice:***@127.0.0.1:" + port +
                              "/app: "));
    CHECK(message.find("hunter2") == std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
    CHECK(error_of([&] { db.session(); }).kind() == ErrorKind::unavailable);
    CHECK(db.open_connections() == 0);
}

TEST_CASE("postgres dialect introspects tables", "[postgres]") {
    const auto url = server_url();
    if (!url) return;
    ScratchDatabase scratch(*url);
    auto session = scratch.db().session();
    const auto& dialect = scratch.db().dialect();

    std::vector<Field> fields;
    for (FieldType type :
         {FieldType::data, FieldType::text, FieldType::int_, FieldType::float_, FieldType::decimal,
          FieldType::check, FieldType::date, FieldType::datetime, FieldType::time, FieldType::uuid,
          FieldType::json, FieldType::select, FieldType::link, FieldType::password}) {
        // (Appending avoids "literal" + std::string&&, which trips a GCC 12 -Wrestrict bug.)
        std::string name = "f";
        name += std::to_string(fields.size());
        fields.push_back(make_field(name, type));
    }
    fields[0].max_length = 255;
    fields[0].required = true;
    fields[4].precision = 2;
    Field default_decimal = make_field("f_money", FieldType::decimal);
    fields.push_back(default_decimal);

    std::string ddl = "CREATE TABLE describe_me (id uuid PRIMARY KEY";
    for (const Field& f : fields) {
        ddl += ", " + m::core::quote_ident(f.name) + " " + dialect.column_type(f);
        if (f.required) ddl += " NOT NULL";
    }
    ddl += ", " + m::core::quote_ident("idx") + " " + dialect.integer_type() + ", modified " +
           dialect.timestamp_type() + ", owner " + dialect.name_type() + ")";
    session->execute(ddl);
    session->execute("CREATE UNIQUE INDEX describe_me_f0 ON describe_me (f0)");
    session->execute("CREATE INDEX describe_me_multi ON describe_me (f6, f2)");
    session->execute("ALTER TABLE describe_me ADD CONSTRAINT describe_me_f9_key UNIQUE (f9)");
    session->execute("CREATE TABLE another (id bigint)");

    CHECK(dialect.list_tables(*session) == std::vector<std::string>{"another", "describe_me"});
    CHECK_FALSE(dialect.describe_table(*session, "missing").has_value());

    const auto info = dialect.describe_table(*session, "describe_me");
    REQUIRE(info.has_value());
    CHECK(info->name == "describe_me");
    REQUIRE(info->columns.size() == fields.size() + 4);
    CHECK(info->columns[0].name == "id");
    CHECK(info->columns[0].type == dialect.uuid_type());
    CHECK(info->columns[0].not_null);
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const auto& column = info->columns[i + 1];
        INFO("field " << fields[i].name);
        CHECK(column.name == fields[i].name);
        CHECK(column.type == dialect.column_type(fields[i]));
        CHECK(dialect.normalize_type(dialect.column_type(fields[i])) ==
              dialect.column_type(fields[i]));
        CHECK(column.not_null == fields[i].required);
    }
    CHECK(info->columns[fields.size() + 1].type == dialect.integer_type());
    CHECK(info->columns[fields.size() + 2].type == dialect.timestamp_type());
    CHECK(info->columns[fields.size() + 3].type == dialect.name_type());

    REQUIRE(info->indexes.size() == 3); // the primary key's index is left out
    CHECK(info->indexes[0].name == "describe_me_f0");
    CHECK(info->indexes[0].columns == std::vector<std::string>{"f0"});
    CHECK(info->indexes[0].unique);
    CHECK(info->indexes[1].name == "describe_me_f9_key");
    CHECK(info->indexes[1].columns == std::vector<std::string>{"f9"});
    CHECK(info->indexes[1].unique);
    CHECK(info->indexes[2].name == "describe_me_multi");
    CHECK(info->indexes[2].columns == std::vector<std::string>{"f6", "f2"});
    CHECK_FALSE(info->indexes[2].unique);

    // The ALTER statement of the dialect works and introspection sees its result.
    Field wider = fields[0];
    wider.max_length = 300;
    session->execute(
        dialect.alter_column_type_sql("describe_me", "f0", dialect.column_type(wider)));
    Field as_int = make_field("f1", FieldType::int_); // text -> bigint needs the USING cast
    session->execute(
        dialect.alter_column_type_sql("describe_me", "f1", dialect.column_type(as_int)));
    const auto altered = dialect.describe_table(*session, "describe_me");
    REQUIRE(altered.has_value());
    CHECK(altered->columns[1].type == "varchar(300)");
    CHECK(altered->columns[2].type == "bigint");
}

TEST_CASE("postgres dialect estimates rows from the planner's statistics", "[postgres]") {
    const auto url = server_url();
    if (!url) return;
    ScratchDatabase scratch(*url);
    auto session = scratch.db().session();
    const auto& dialect = scratch.db().dialect();
    session->execute_script("CREATE TABLE big (id int)");
    CHECK_FALSE(dialect.estimated_rows(*session, "big")); // never analysed: no estimate
    session->execute_script(
        "INSERT INTO big SELECT g FROM generate_series(1, 5000) g; ANALYZE big");
    auto estimate = dialect.estimated_rows(*session, "big");
    REQUIRE(estimate);
    CHECK(*estimate == 5000);
    CHECK_FALSE(dialect.estimated_rows(*session, "no_such_table"));
}
