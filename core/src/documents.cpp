// The document service bound to a caller and a session (documents.hpp).
#include "m/core/documents.hpp"

#include "m/core/document_service.hpp"

namespace m::core {

Documents::Documents(const DocumentService& service, Session& session, Principal caller)
    : m_service(&service), m_session(&session), m_caller(std::move(caller)) {}

Json Documents::get(const std::string& doctype, const std::string& id_or_name) const {
    return m_service->get(*m_session, doctype, id_or_name, m_caller);
}

ListResult Documents::list(const std::string& doctype, ListQuery query, CountMode count) const {
    return m_service->list(*m_session, doctype, std::move(query), m_caller, count);
}

Json Documents::insert(const std::string& doctype, const Json& input) const {
    return m_service->insert(*m_session, doctype, input, m_caller);
}

Json Documents::update(const std::string& doctype, const std::string& id_or_name,
                       const Json& patch) const {
    return m_service->update(*m_session, doctype, id_or_name, patch, m_caller);
}

Json Documents::remove(const std::string& doctype, const std::string& id_or_name) const {
    return m_service->remove(*m_session, doctype, id_or_name, m_caller);
}

Json Documents::submit(const std::string& doctype, const std::string& id_or_name) const {
    return m_service->submit(*m_session, doctype, id_or_name, m_caller);
}

Json Documents::cancel(const std::string& doctype, const std::string& id_or_name) const {
    return m_service->cancel(*m_session, doctype, id_or_name, m_caller);
}

Json Documents::call(const std::string& doctype, const std::string& id_or_name,
                     const std::string& method, const Json& kwargs) const {
    return m_service->call(*m_session, doctype, id_or_name, method, kwargs, m_caller);
}

void Documents::enqueue_after_commit(const std::string& job, const Json& kwargs) const {
    m_service->enqueue_after_commit(*m_session, job, kwargs);
}

} // namespace m::core
