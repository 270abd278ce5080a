// Documents: the document service bound to one caller and one session (a transaction).
//
// This is what controllers get in their hook context: `ctx.documents` reads and writes other
// documents with the rights of whoever triggered the hook, so a controller cannot become a way
// around permissions or row-level security. A controller that must see everything (a total over
// all customers, a counter) asks for it in so many words: `ctx.documents.as_system()`.
#pragma once

#include "m/core/permissions.hpp"
#include "m/core/query.hpp"
#include "m/core/values.hpp"

#include <string>

namespace m::core {

class DocumentService;
class Session;

class Documents {
public:
    /// The service and the session must outlive this handle. (Out of line on purpose: the
    /// document service's use of it links this unit into `m`, whose exported symbols app
    /// modules resolve the other methods from.)
    Documents(const DocumentService& service, Session& session, Principal caller);

    Json get(const std::string& doctype, const std::string& id_or_name) const;
    ListResult list(const std::string& doctype, ListQuery query,
                    CountMode count = CountMode::exact) const;
    Json insert(const std::string& doctype, const Json& input) const;
    Json update(const std::string& doctype, const std::string& id_or_name, const Json& patch) const;
    Json remove(const std::string& doctype, const std::string& id_or_name) const;
    Json submit(const std::string& doctype, const std::string& id_or_name) const;
    Json cancel(const std::string& doctype, const std::string& id_or_name) const;
    Json call(const std::string& doctype, const std::string& id_or_name, const std::string& method,
              const Json& kwargs) const;

    /// Enqueues a job once the transaction has committed (DocumentService::enqueue_after_commit).
    void enqueue_after_commit(const std::string& job, const Json& kwargs) const;

    /// The same session with the system's rights: every check passes; what is written still
    /// names the caller as its author.
    Documents as_system() const { return {*m_service, *m_session, m_caller.elevated()}; }

    const Principal& caller() const noexcept { return m_caller; }
    Session& session() const noexcept { return *m_session; }
    const DocumentService& service() const noexcept { return *m_service; }

private:
    const DocumentService* m_service;
    Session* m_session;
    Principal m_caller;
};

} // namespace m::core
