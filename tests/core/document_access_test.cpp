// Who may do what, as the document service checks it for every caller (docs/ARCHITECTURE.md,
// "What a caller may learn"): role permissions, row-level security, the write rules for clients,
// and controllers that act with their caller's rights unless they ask for the system's.
#include "m/core/controller.hpp"
#include "m/core/doctype_loader.hpp"
#include "m/core/document_service.hpp"
#include "m/core/error.hpp"
#include "m/migrations/migrator.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

using m::core::Error;
using m::core::ErrorKind;
using m::core::HookContext;
using m::core::Json;
using m::core::Principal;

namespace {

// Region: readable by Sales, written by Admin only. Lead: Sales's own leads (RLS on owner),
// with a read_only score and a link to Region.
const char* k_region = R"({"name": "Region", "naming_rule": "field:region_name",
    "permissions": {"read": ["Sales"]},
    "fields": [{"name": "region_name", "type": "data", "required": true}]})";
const char* k_secret = R"({"name": "Secret", "naming_rule": "field:title",
    "fields": [{"name": "title", "type": "data", "required": true}]})";
const char* k_lead = R"({"name": "Lead", "naming_rule": "field:lead_name", "apply_rls": true,
    "is_submittable": true,
    "permissions": {"read": ["Sales"], "create": ["Sales"], "write": ["Sales"],
                    "delete": ["Sales"], "submit": ["Sales"]},
    "fields": [{"name": "lead_name", "type": "data", "required": true},
               {"name": "score", "type": "int", "read_only": true},
               {"name": "region", "type": "link", "options": "Region"},
               {"name": "secret", "type": "link", "options": "Secret"},
               {"name": "buddy", "type": "link", "options": "Lead"},
               {"name": "secret_ref", "type": "data"}, {"name": "secret_title", "type": "data"}]})";

/// Lead's controller copies the title of the Secret named in secret_ref: with the caller's rights
/// when the lead's name starts with "mine", with the system's otherwise.
class LeadController : public m::core::Controller {
public:
    void before_save(Json& doc, HookContext& ctx) override {
        seen_caller = ctx.caller.user;
        if (!doc["secret_ref"].is_string()) return;
        const bool own_rights = doc["lead_name"].get<std::string>().rfind("mine", 0) == 0;
        const m::core::Documents docs = own_rights ? ctx.documents : ctx.documents.as_system();
        doc["secret_title"] = docs.get("Secret", doc["secret_ref"].get<std::string>())["title"];
    }
    std::string seen_caller;
};

struct Fixture {
    m::test::TempDir dir;
    m::test::TestDatabase t;
    m::core::MetaRegistry meta;
    m::core::ControllerRegistry controllers;
    LeadController* lead = nullptr;

    explicit Fixture(const std::string& kind) : t(m::test::make_database(kind, dir.path())) {
        for (const char* def : {k_region, k_secret, k_lead}) {
            meta.add(m::core::parse_doctype(nlohmann::json::parse(def), "test.json", "test"));
        }
        meta.check_references();
        auto ctl = std::make_unique<LeadController>();
        lead = ctl.get();
        controllers.add("Lead", std::move(ctl));
        m::migrations::Migrator migrator(*t.db, meta, dir.path(), {});
        migrator.apply(migrator.plan(), false);
        m::core::DocumentService svc(meta, *t.db, &controllers);
        auto s = t.db->session();
        m::core::UnitOfWork uow(*s);
        m::core::Documents docs(svc, *s, m::test::sys());
        docs.insert("Region", Json{{"region_name", "North"}});
        docs.insert("Secret", Json{{"title", "S1"}});
        uow.commit();
    }

    template <class Fn> auto write(const Principal& who, Fn&& fn) {
        m::core::DocumentService svc(meta, *t.db, &controllers);
        auto s = t.db->session();
        m::core::UnitOfWork uow(*s);
        m::core::Documents docs(svc, *s, who);
        auto result = fn(docs);
        uow.commit();
        return result;
    }
};

const Principal k_ann = Principal::of("ann@example.com", {"Sales"});
const Principal k_bob = Principal::of("bob@example.com", {"Sales"});
const Principal k_eve = Principal::of("eve@example.com", {"Support"});

ErrorKind kind_of(const std::function<void()>& fn, std::string* message = nullptr) {
    try {
        fn();
    } catch (const Error& e) {
        if (message) *message = e.what();
        return e.kind();
    }
    FAIL("no error");
    return ErrorKind::internal;
}

} // namespace

TEST_CASE("the document service checks role permissions for every caller", "[access]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Fixture f(kind);
            auto as = [&](const Principal& who, auto fn) {
                return [&f, who, fn] { f.write(who, fn); };
            };
            // Eve has no role on Lead or Region; a guest must log in first.
            CHECK(kind_of(as(k_eve, [](auto& d) { return d.get("Region", "North"); })) ==
                  ErrorKind::permission);
            CHECK(kind_of(as(Principal::guest(), [](auto& d) {
                      return d.get("Region", "North");
                  })) == ErrorKind::unauthenticated);
            CHECK(kind_of(as(k_eve, [](auto& d) {
                      return d.insert("Lead", Json{{"lead_name", "x"}});
                  })) == ErrorKind::permission);
            CHECK(kind_of(as(k_ann, [](auto& d) {
                      return d.insert("Region", Json{{"region_name", "South"}});
                  })) == ErrorKind::permission);
            CHECK(kind_of(as(k_ann, [](auto& d) {
                      return d.list("Secret", m::core::ListQuery{});
                  })) == ErrorKind::permission);
            // Sales reads Region; the system may do everything.
            CHECK(f.write(k_ann, [](auto& d) { return d.get("Region", "North"); })["region_name"] ==
                  "North");
            CHECK(f.write(m::test::sys(), [](auto& d) {
                return d.insert("Region", Json{{"region_name", "South"}});
            })["name"] == "South");
        }
    }
}

TEST_CASE("row-level security hides other users' documents like missing ones", "[access]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Fixture f(kind);
            f.write(k_ann, [](auto& d) { return d.insert("Lead", Json{{"lead_name", "a1"}}); });
            f.write(k_bob, [](auto& d) { return d.insert("Lead", Json{{"lead_name", "b1"}}); });

            auto names = [&](const Principal& who) {
                std::vector<std::string> out;
                for (const auto& doc : f.write(who, [](auto& d) {
                                            return d.list("Lead", m::core::ListQuery{});
                                        }).items) {
                    out.push_back(doc["name"].template get<std::string>());
                }
                std::sort(out.begin(), out.end());
                return out;
            };
            CHECK(names(k_ann) == std::vector<std::string>{"a1"});
            CHECK(names(k_bob) == std::vector<std::string>{"b1"});
            CHECK(names(m::test::sys()) == std::vector<std::string>{"a1", "b1"});

            std::string hidden, missing;
            CHECK(kind_of([&] { f.write(k_ann, [](auto& d) { return d.get("Lead", "b1"); }); },
                          &hidden) == ErrorKind::not_found);
            CHECK(kind_of([&] { f.write(k_ann, [](auto& d) { return d.get("Lead", "zz"); }); },
                          &missing) == ErrorKind::not_found);
            CHECK(hidden == "Lead 'b1' not found");
            CHECK(missing == "Lead 'zz' not found");
            // Writes to a hidden document fail the same way, and change nothing.
            CHECK(kind_of([&] {
                      f.write(k_ann, [](auto& d) {
                          return d.update("Lead", "b1", Json{{"lead_name", "b1"}});
                      });
                  }) == ErrorKind::not_found);
            CHECK(kind_of([&] {
                      f.write(k_ann, [](auto& d) {
                          d.remove("Lead", "b1");
                          return 0;
                      });
                  }) == ErrorKind::not_found);
            CHECK(kind_of([&] {
                      f.write(k_ann, [](auto& d) { return d.submit("Lead", "b1"); });
                  }) == ErrorKind::not_found);
            CHECK(f.write(k_bob, [](auto& d) { return d.get("Lead", "b1"); })["docstatus"] == 0);
            CHECK(f.write(k_bob, [](auto& d) { return d.submit("Lead", "b1"); })["docstatus"] == 1);
        }
    }
}

TEST_CASE("clients cannot set read_only fields or link to what they may not read", "[access]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Fixture f(kind);
            // read_only is ignored for a user, kept for the system.
            Json ann = f.write(k_ann, [](auto& d) {
                return d.insert("Lead", Json{{"lead_name", "a1"}, {"score", 99}});
            });
            CHECK(ann["score"].is_null());
            CHECK(ann["owner"] == "ann@example.com");
            Json by_system = f.write(m::test::sys(), [](auto& d) {
                return d.insert("Lead", Json{{"lead_name", "s1"}, {"score", 99}});
            });
            CHECK(by_system["score"] == 99);
            f.write(k_ann, [](auto& d) { return d.update("Lead", "a1", Json{{"score", 7}}); });
            CHECK(f.write(m::test::sys(), [](auto& d) { return d.get("Lead", "a1"); })["score"]
                      .is_null());

            // A link to a DocType the caller may not read is refused whether the target exists
            // or not; a target hidden by RLS is reported exactly like a missing one.
            std::string message;
            CHECK(
                kind_of(
                    [&] {
                        f.write(k_ann, [](auto& d) {
                            return d.insert("Lead", Json{{"lead_name", "a2"}, {"secret", "nope"}});
                        });
                    },
                    &message) == ErrorKind::permission);
            CHECK(message.find("you may not read Secret") != std::string::npos);
            f.write(k_bob, [](auto& d) { return d.insert("Lead", Json{{"lead_name", "b1"}}); });
            std::string hidden, missing;
            auto link = [&](const std::string& buddy, std::string* out) {
                return kind_of(
                    [&] {
                        f.write(k_ann, [&](auto& d) {
                            return d.insert("Lead", Json{{"lead_name", "a3"}, {"buddy", buddy}});
                        });
                    },
                    out);
            };
            CHECK(link("b1", &hidden) == ErrorKind::validation);
            CHECK(link("zz", &missing) == ErrorKind::validation);
            CHECK(hidden.find("Lead 'b1' does not exist") != std::string::npos);
            CHECK(missing.find("Lead 'zz' does not exist") != std::string::npos);
            CHECK(f.write(k_ann, [](auto& d) {
                return d.insert("Lead", Json{{"lead_name", "a4"}, {"region", "North"}});
            })["region"] == "North");
        }
    }
}

TEST_CASE("controllers read with their caller's rights unless they ask for the system's",
          "[access]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Fixture f(kind);
            // Ann may not read Secret: her controller cannot read it for her, and nothing is
            // written; asking for the system's rights works, and the save is still hers.
            CHECK(
                kind_of([&] {
                    f.write(k_ann, [](auto& d) {
                        return d.insert("Lead", Json{{"lead_name", "mine1"}, {"secret_ref", "S1"}});
                    });
                }) == ErrorKind::permission);
            CHECK(f.lead->seen_caller == "ann@example.com");
            CHECK(f.write(m::test::sys(), [](auto& d) {
                       return d.list("Lead", m::core::ListQuery{});
                   }).items.empty());
            Json saved = f.write(k_ann, [](auto& d) {
                return d.insert("Lead", Json{{"lead_name", "other1"}, {"secret_ref", "S1"}});
            });
            CHECK(saved["secret_title"] == "S1");
            CHECK(saved["owner"] == "ann@example.com");
            CHECK(saved["modified_by"] == "ann@example.com");
        }
    }
}
