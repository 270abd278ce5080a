// The job "billing.send_invoice": Invoice.after_save enqueues it once the save has committed
// (`m worker` runs it). This demo has no mail server, so "sending" is deciding the recipient and
// the amount; a customer without an email address fails the job, which is retried and then
// stays FAILED with its error for `m job status` and `m job retry`.
#include <m/app.hpp>

#include <m/core/database.hpp>

namespace {

m::Json send_invoice(const m::Json& kwargs, m::JobContext& ctx) {
    if (!kwargs.contains("invoice") || !kwargs["invoice"].is_string()) {
        throw m::Error(m::ErrorKind::validation, "send_invoice needs {\"invoice\": \"<name>\"}");
    }
    auto session = ctx.db.session();
    m::Json invoice =
        ctx.documents.get(*session, "Invoice", kwargs["invoice"].get<std::string>(), ctx.caller);
    m::Json customer =
        ctx.documents.get(*session, "Customer", invoice["customer"].get<std::string>(), ctx.caller);
    if (!customer["email"].is_string() || customer["email"].get<std::string>().empty()) {
        throw m::Error(m::ErrorKind::validation,
                       "customer " + customer["name"].get<std::string>() + " has no email");
    }
    return m::Json{
        {"invoice", invoice["name"]}, {"to", customer["email"]}, {"total", invoice["total"]}};
}

} // namespace

M_JOB(send_invoice, (m::JobDef{"billing.send_invoice", 5, 60, "default", "",
                               "email an invoice to its customer", send_invoice}))
