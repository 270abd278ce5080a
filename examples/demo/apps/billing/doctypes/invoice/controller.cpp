// Business logic of Invoice: an invoice needs items; amounts and the total are computed here, so
// clients cannot send a wrong total; only customers that are not on hold or closed are billed.
#include <m/app.hpp>

#include <cmath>

namespace {

double number(const m::Json& v) {
    return v.is_number() ? v.get<double>() : 0.0;
}

class Invoice : public m::Controller {
public:
    void validate(m::Json& doc, m::HookContext& ctx) override {
        if (!doc["items"].is_array() || doc["items"].empty()) {
            // On the field, so a form shows it there (docs/reference/http-api.md, "Errors").
            throw m::field_error("items", "an invoice needs at least one item");
        }
        // With the caller's rights: whoever bills a customer must be able to read it.
        m::Json customer = ctx.documents.get("Customer", doc["customer"].get<std::string>());
        if (customer["status"] != "Active") {
            throw m::field_error("customer", "customer " + customer["name"].get<std::string>() +
                                                 " is " + customer["status"].get<std::string>() +
                                                 "; only active customers are billed");
        }
    }

    void before_save(m::Json& doc, m::HookContext&) override {
        double total = 0;
        for (auto& row : doc["items"]) {
            double amount = std::round(number(row["qty"]) * number(row["rate"]) * 100) / 100;
            row["amount"] = amount;
            total += amount;
        }
        doc["total"] = std::round(total * 100) / 100;
    }

    void after_save(const m::Json& doc, m::HookContext& ctx) override {
        // Runs in `m worker` once this save has committed; never for a save that rolls back.
        ctx.documents.enqueue_after_commit("billing.send_invoice",
                                           m::Json{{"invoice", doc["name"]}});
    }
};

} // namespace

void m_register_invoice(m::AppRegistrar& app) {
    app.controller<Invoice>("Invoice");
    // `m doc call Invoice INV-2026-00001 outstanding` -> {"result": 25.5}
    app.method("Invoice", "outstanding", "read",
               [](m::Json* doc, const m::Json&, m::HookContext&) -> m::Json {
                   if (!doc)
                       throw m::Error(m::ErrorKind::validation, "outstanding needs an invoice");
                   return (*doc)["paid"] == true ? 0.0 : number((*doc)["total"]);
               });
}
