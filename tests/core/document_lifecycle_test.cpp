// The document lifecycle (docs/reference/doctypes.md, "Lifecycle" and "Controllers") with C++
// controllers, on SQLite and PostgreSQL.
#include "m/core/controller.hpp"
#include "m/core/doctype_loader.hpp"
#include "m/core/document_service.hpp"
#include "m/core/error.hpp"
#include "m/migrations/migrator.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <thread>

using m::core::Error;
using m::core::ErrorKind;
using m::core::HookContext;
using m::core::Json;

namespace {

const char* k_customer = R"({"name": "Customer", "naming_rule": "field:customer_name",
    "fields": [{"name": "customer_name", "type": "data", "required": true}]})";
const char* k_item = R"({"name": "Invoice Item", "is_child_table": true, "fields": [
    {"name": "item", "type": "data", "required": true}, {"name": "qty", "type": "int", "min": 1},
    {"name": "rate", "type": "decimal"}, {"name": "amount", "type": "decimal"}]})";
const char* k_invoice = R"({"name": "Invoice", "naming_rule": "series:INV-.#####",
    "is_submittable": true, "track_changes": true, "fields": [
    {"name": "customer", "type": "link", "options": "Customer", "required": true},
    {"name": "items", "type": "table", "options": "Invoice Item"},
    {"name": "total", "type": "decimal"}, {"name": "note", "type": "data"},
    {"name": "paid", "type": "check", "allow_on_submit": true}]})";
const char* k_note = R"({"name": "Note", "naming_rule": "prompt",
    "fields": [{"name": "body", "type": "text"}]})";

/// Records every hook call; computes totals; refuses empty invoices.
class InvoiceController : public m::core::Controller {
public:
    explicit InvoiceController(std::vector<std::string>& log) : m_log(log) {}
    void validate(Json& doc, HookContext&) override {
        m_log.push_back("validate");
        if (doc["items"].empty()) {
            throw m::core::field_error("items", "an invoice needs at least one item");
        }
    }
    void before_insert(Json&, HookContext&) override { m_log.push_back("before_insert"); }
    void before_save(Json& doc, HookContext&) override {
        m_log.push_back("before_save");
        double total = 0;
        for (auto& row : doc["items"]) {
            double amount = row["qty"].get<double>() * row["rate"].get<double>();
            row["amount"] = amount;
            total += amount;
        }
        doc["total"] = total;
        if (doc["note"] == "explode") throw std::runtime_error("boom");
    }
    void after_insert(const Json& doc, HookContext& ctx) override {
        m_log.push_back("after_insert");
        // Hooks run inside the transaction: the row is visible here.
        CHECK(ctx.documents.get("Invoice", doc["name"].get<std::string>())["total"] ==
              doc["total"]);
    }
    void after_save(const Json& doc, HookContext&) override {
        m_log.push_back("after_save");
        if (doc["note"] == "fail after save") {
            throw Error(ErrorKind::validation, "refused after the write");
        }
    }
    void before_delete(const Json&, HookContext&) override { m_log.push_back("before_delete"); }
    void after_delete(const Json&, HookContext&) override { m_log.push_back("after_delete"); }
    void on_submit(Json&, HookContext&) override { m_log.push_back("on_submit"); }
    void on_cancel(Json&, HookContext&) override { m_log.push_back("on_cancel"); }

private:
    std::vector<std::string>& m_log;
};

struct Fixture {
    m::test::TempDir dir;
    m::test::TestDatabase t;
    m::core::MetaRegistry meta;
    m::core::ControllerRegistry controllers;
    std::vector<std::string> log;

    explicit Fixture(const std::string& kind) : t(m::test::make_database(kind, dir.path())) {
        for (const char* def : {k_customer, k_item, k_invoice, k_note}) {
            meta.add(m::core::parse_doctype(nlohmann::json::parse(def), "test.json", "test"));
        }
        meta.check_references();
        controllers.add("Invoice", std::make_unique<InvoiceController>(log));
        controllers.add_method("Invoice", "double_total", "write",
                               [](Json* doc, const Json& kwargs, HookContext&) -> Json {
                                   REQUIRE(doc);
                                   return (*doc)["total"].get<double>() * 2 +
                                          kwargs.value("plus", 0.0);
                               });
        m::migrations::Migrator migrator(*t.db, meta, dir.path(), {});
        migrator.apply(migrator.plan(), false);
        m::core::DocumentService svc(meta, *t.db, &controllers);
        auto s = t.db->session();
        m::core::UnitOfWork uow(*s);
        svc.insert(*s, "Customer", Json{{"customer_name", "Acme"}}, m::test::acting("u"));
        uow.commit();
    }

    m::core::DocumentService service() const {
        return m::core::DocumentService(meta, *t.db, &controllers);
    }

    template <class Fn> auto write(Fn&& fn) {
        auto svc = service();
        auto s = t.db->session();
        m::core::UnitOfWork uow(*s);
        auto result = fn(svc, *s);
        uow.commit();
        return result;
    }
    template <class Fn> auto read(Fn&& fn) {
        auto svc = service();
        auto s = t.db->session();
        return fn(svc, *s);
    }
    long long count(const std::string& doctype) {
        return read([&](auto& svc, auto& s) {
            m::core::ListQuery q;
            return *svc.list(s, doctype, q, m::test::sys()).total;
        });
    }
};

Json invoice() {
    return Json::parse(R"({"customer": "Acme", "items": [{"item": "A", "qty": 2, "rate": 10},
                                                          {"item": "B", "qty": 1, "rate": 5.5}]})");
}

} // namespace

TEST_CASE("hooks run in the documented order and see their own writes", "[lifecycle]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Fixture f(kind);
            Json saved = f.write([](auto& svc, auto& s) {
                return svc.insert(s, "Invoice", invoice(), m::test::acting("u"));
            });
            CHECK(f.log == std::vector<std::string>{"validate", "before_insert", "before_save",
                                                    "after_insert", "after_save"});
            CHECK(saved["name"] == "INV-00001");
            CHECK(saved["total"] == 25.5);
            CHECK(saved["items"][0]["amount"] == 20);
            auto stored = f.read([](auto& svc, auto& s) {
                return svc.get(s, "Invoice", "INV-00001", m::test::sys());
            });
            CHECK(stored["total"] == 25.5);
            CHECK(stored["items"][1]["amount"] == 5.5);

            f.log.clear();
            f.write([](auto& svc, auto& s) {
                return svc.update(s, "Invoice", "INV-00001",
                                  Json::parse(R"({"items": [{"item": "C", "qty": 3, "rate": 1}]})"),
                                  m::test::acting("u"));
            });
            CHECK(f.log == std::vector<std::string>{"validate", "before_save", "after_save"});
            CHECK(f.read([](auto& svc, auto& s) {
                return svc.get(s, "Invoice", "INV-00001", m::test::sys());
            })["total"] == 3);

            f.log.clear();
            f.write([](auto& svc, auto& s) {
                return svc.submit(s, "Invoice", "INV-00001", m::test::acting("u"));
            });
            CHECK(f.log == std::vector<std::string>{"validate", "on_submit"});
            f.log.clear();
            Json cancelled = f.write([](auto& svc, auto& s) {
                return svc.cancel(s, "Invoice", "INV-00001", m::test::acting("u"));
            });
            CHECK(f.log == std::vector<std::string>{"on_cancel"});
            CHECK(cancelled["docstatus"] == 2);
            CHECK(cancelled["items"][0]["docstatus"] == 2);

            f.log.clear();
            f.write([](auto& svc, auto& s) {
                svc.remove(s, "Invoice", "INV-00001", m::test::acting("u"));
                return 0;
            });
            CHECK(f.log == std::vector<std::string>{"before_delete", "after_delete"});
            CHECK(f.count("Invoice") == 0);
        }
    }
}

TEST_CASE("a failing hook writes nothing and names the hook and the DocType",
          "[lifecycle][bad-input]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Fixture f(kind);
            Json empty = invoice();
            empty["items"] = Json::array();
            CHECK_THROWS_WITH(f.write([&](auto& svc, auto& s) {
                return svc.insert(s, "Invoice", empty, m::test::acting("u"));
            }),
                              "DocType 'Invoice': validate: an invoice needs at least one item");
            try {
                f.write([&](auto& svc, auto& s) {
                    return svc.insert(s, "Invoice", empty, m::test::acting("u"));
                });
            } catch (const Error& e) {
                // A hook's field error keeps its place on the field through the hook's prefix.
                CHECK(e.kind() == ErrorKind::validation);
                REQUIRE(e.details().is_array());
                CHECK(e.details()[0]["field"] == "items");
                CHECK(e.details()[0]["code"] == "hook");
                CHECK(e.details()[0]["message"] == "an invoice needs at least one item");
            }
            Json boom = invoice();
            boom["note"] = "explode";
            try {
                f.write([&](auto& svc, auto& s) {
                    return svc.insert(s, "Invoice", boom, m::test::acting("u"));
                });
                FAIL("a throwing hook was ignored");
            } catch (const Error& e) {
                CHECK(e.kind() == ErrorKind::internal);
                CHECK_THAT(std::string(e.what()),
                           Catch::Contains("DocType 'Invoice': before_save failed: boom"));
            }
            Json late = invoice();
            late["note"] = "fail after save";
            CHECK_THROWS_WITH(f.write([&](auto& svc, auto& s) {
                return svc.insert(s, "Invoice", late, m::test::acting("u"));
            }),
                              Catch::Contains("after_save: refused after the write"));
            CHECK(f.count("Invoice") == 0);
            CHECK(f.count("Customer") == 1);
            auto s = f.t.db->session();
            CHECK(s->query("SELECT COUNT(*) FROM invoice_item").rows[0][0] ==
                  std::optional<std::string>("0"));
        }
    }
}

TEST_CASE("declarative rules of the lifecycle", "[lifecycle][bad-input]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Fixture f(kind);
            auto insert = [&](const std::string& doctype, const Json& doc) {
                return f.write([&](auto& svc, auto& s) {
                    return svc.insert(s, doctype, doc, m::test::acting("u"));
                });
            };
            SECTION("a validation failure in a child row names the row") {
                Json bad = invoice();
                bad["items"][1]["qty"] = 0;
                bad["items"][0].erase("item");
                CHECK_THROWS_WITH(
                    insert("Invoice", bad),
                    Catch::Contains("field 'items' row 1: field 'item' is required") &&
                        Catch::Contains(
                            "field 'items' row 2: field 'qty': 0 is less than the minimum 1"));
                // The details say where, so a form needs no parsing of the text.
                nlohmann::json details;
                try {
                    insert("Invoice", bad);
                } catch (const Error& e) {
                    details = e.details();
                }
                REQUIRE(details.is_array());
                REQUIRE(details.size() == 2);
                CHECK(details[0] == nlohmann::json{{"field", "items"},
                                                   {"row", 1},
                                                   {"child", "item"},
                                                   {"code", "required"},
                                                   {"message", "field 'item' is required"}});
                CHECK(details[1] == nlohmann::json{{"field", "items"},
                                                   {"row", 2},
                                                   {"child", "qty"},
                                                   {"code", "below_minimum"},
                                                   {"message", "0 is less than the minimum 1"}});
            }
            SECTION("a link to a missing document") {
                Json bad = invoice();
                bad["customer"] = "Nobody";
                CHECK_THROWS_WITH(
                    insert("Invoice", bad),
                    Catch::Contains("field 'customer': Customer 'Nobody' does not exist"));
            }
            SECTION("a duplicate name from field: naming") {
                CHECK_THROWS_WITH(insert("Customer", Json{{"customer_name", "Acme"}}),
                                  Catch::Contains("a document named 'Acme' already exists"));
                try {
                    insert("Customer", Json{{"customer_name", "Acme"}});
                    FAIL("a duplicate name was saved");
                } catch (const Error& e) {
                    CHECK(e.kind() == ErrorKind::conflict);
                    CHECK(e.details() ==
                          nlohmann::json{{"reason", "duplicate_name"},
                                         {"field", "customer_name"},
                                         {"message", "a document named 'Acme' already exists"}});
                }
            }
            SECTION("a prompt-named document without a name") {
                CHECK_THROWS_WITH(insert("Note", Json{{"body", "x"}}),
                                  Catch::Contains("'name' is required"));
                CHECK(insert("Note", Json{{"name", "n1"}, {"body", "x"}})["name"] == "n1");
            }
            SECTION("submitted documents are frozen except allow_on_submit fields") {
                insert("Invoice", invoice());
                f.write([](auto& svc, auto& s) {
                    return svc.submit(s, "Invoice", "INV-00001", m::test::acting("u"));
                });
                CHECK_THROWS_WITH(
                    f.write([](auto& svc, auto& s) {
                        return svc.update(s, "Invoice", "INV-00001", Json{{"note", "x"}},
                                          m::test::acting("u"));
                    }),
                    Catch::Contains("field 'note' cannot change: the document is submitted"));
                Json paid = f.write([](auto& svc, auto& s) {
                    return svc.update(s, "Invoice", "INV-00001", Json{{"paid", true}},
                                      m::test::acting("u"));
                });
                CHECK(paid["paid"] == true);
                CHECK_THROWS_WITH(f.write([](auto& svc, auto& s) {
                    svc.remove(s, "Invoice", "INV-00001", m::test::acting("u"));
                    return 0;
                }),
                                  Catch::Contains("is submitted and cannot be deleted"));
                CHECK_THROWS_WITH(
                    f.write([](auto& svc, auto& s) {
                        return svc.submit(s, "Invoice", "INV-00001", m::test::acting("u"));
                    }),
                    Catch::Contains("cannot submit Invoice 'INV-00001': it is submitted"));
                f.write([](auto& svc, auto& s) {
                    return svc.cancel(s, "Invoice", "INV-00001", m::test::acting("u"));
                });
                CHECK_THROWS_WITH(f.write([](auto& svc, auto& s) {
                    return svc.update(s, "Invoice", "INV-00001", Json{{"paid", false}},
                                      m::test::acting("u"));
                }),
                                  Catch::Contains("is cancelled and cannot be changed"));
            }
            SECTION("a submit of a draft that fails validation stays a draft") {
                insert("Invoice", invoice());
                // Make the stored draft invalid behind the service's back: no items.
                auto s = f.t.db->session();
                s->execute("DELETE FROM invoice_item");
                CHECK_THROWS_WITH(f.write([](auto& svc, auto& s2) {
                    return svc.submit(s2, "Invoice", "INV-00001", m::test::acting("u"));
                }),
                                  Catch::Contains("validate: an invoice needs at least one item"));
                CHECK(f.read([](auto& svc, auto& s2) {
                    return svc.get(s2, "Invoice", "INV-00001", m::test::sys());
                })["docstatus"] == 0);
                CHECK_THROWS_WITH(f.write([](auto& svc, auto& s2) {
                    return svc.submit(s2, "Customer", "Acme", m::test::acting("u"));
                }),
                                  Catch::Contains("DocType 'Customer' is not submittable"));
            }
            SECTION("callable methods") {
                insert("Invoice", invoice());
                Json r = f.write([](auto& svc, auto& s) {
                    return svc.call(s, "Invoice", "INV-00001", "double_total", Json{{"plus", 1}},
                                    m::test::acting("u"));
                });
                CHECK(r == 52.0);
                CHECK_THROWS_WITH(f.write([](auto& svc, auto& s) {
                    return svc.call(s, "Invoice", "INV-00001", "nope", Json::object(),
                                    m::test::acting("u"));
                }),
                                  "DocType 'Invoice' has no callable method 'nope'");
            }
        }
    }
}

TEST_CASE("track_changes records a version per save with the field-level diff", "[lifecycle]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Fixture f(kind);
            Json saved = f.write([](auto& svc, auto& s) {
                return svc.insert(s, "Invoice", invoice(), m::test::acting("u"));
            });
            Json items = saved["items"];
            items[0]["qty"] = 5;                                           // changed row
            items.erase(1);                                                // removed row
            items.push_back(Json{{"item", "C"}, {"qty", 1}, {"rate", 1}}); // added row
            f.write([&](auto& svc, auto& s) {
                return svc.update(s, "Invoice", "INV-00001",
                                  Json{{"note", "rush"}, {"items", items}},
                                  m::test::acting("editor"));
            });
            f.write([](auto& svc, auto& s) {
                return svc.submit(s, "Invoice", "INV-00001", m::test::acting("u"));
            });
            auto versions = f.read([](auto& svc, auto& s) {
                return svc.versions(s, "Invoice", "INV-00001", m::test::sys());
            });
            REQUIRE(versions.size() == 2);
            const Json& v = versions[0]["data"];
            CHECK(versions[0]["owner"] == "editor");
            auto has_change = [&](const Json& changed, const std::string& field, const Json& from,
                                  const Json& to) {
                for (const auto& c : changed) {
                    if (c[0] == field && c[1] == from && c[2] == to) return true;
                }
                return false;
            };
            CHECK(has_change(v["changed"], "note", nullptr, "rush"));
            CHECK(has_change(v["changed"], "total", 25.5, 51.0));
            REQUIRE(v["added"].size() == 1);
            CHECK(v["added"][0][1]["item"] == "C");
            REQUIRE(v["removed"].size() == 1);
            CHECK(v["removed"][0][1]["item"] == "B");
            REQUIRE(v["row_changed"].size() == 1);
            CHECK(has_change(v["row_changed"][0][2], "qty", 2, 5));
            CHECK(has_change(versions[1]["data"]["changed"], "docstatus", 0, 1));
            // A save that changes nothing records nothing.
            CHECK(f.read([](auto& svc, auto& s) {
                       return svc.versions(s, "Invoice", "INV-00001", m::test::sys());
                   }).size() == 2);
        }
    }
}

TEST_CASE("two concurrent updates of one document: one wins, one gets a conflict",
          "[lifecycle][concurrency]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Fixture f(kind);
            Json saved = f.write([](auto& svc, auto& s) {
                return svc.insert(s, "Invoice", invoice(), m::test::acting("u"));
            });
            Json stale = saved["modified"];
            // Both writers read the same version, then update with it.
            std::atomic<int> ok{0}, conflicts{0};
            auto writer = [&](const std::string& note) {
                try {
                    f.write([&](auto& svc, auto& s) {
                        return svc.update(s, "Invoice", "INV-00001",
                                          Json{{"note", note}, {"modified", stale}},
                                          m::test::acting("u"));
                    });
                    ++ok;
                } catch (const Error& e) {
                    if (e.kind() == ErrorKind::conflict &&
                        e.details().value("reason", "") == "stale")
                        ++conflicts;
                    else
                        FAIL(e.what());
                }
            };
            std::thread a(writer, "first"), b(writer, "second");
            a.join();
            b.join();
            CHECK(ok == 1);
            CHECK(conflicts == 1);
        }
    }
}
