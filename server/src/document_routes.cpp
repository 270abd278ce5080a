// The document routes of `m serve`: list, create, read, update, delete, submit/cancel, versions
// and callable methods of every API DocType. Handlers authenticate and translate HTTP to the
// document service, which checks permissions and row-level security (docs/ARCHITECTURE.md,
// "Document flow"); authorize() before the body or filters are read keeps 401/403 before 400.
#include "routes.hpp"

#include "m/core/query.hpp"

#include <fmt/format.h>

namespace m::server {

namespace {

core::CountMode count_mode(const httplib::Request& req) {
    if (!req.has_param("count")) return core::CountMode::exact;
    const std::string c = req.get_param_value("count");
    if (auto mode = core::parse_count_mode(c)) return *mode;
    throw Error(ErrorKind::validation,
                fmt::format("count must be exact, estimated or none, got '{}'", c));
}

/// `If-Match: "…"` (or W/"…") is the `modified` the update is based on.
void apply_if_match(const httplib::Request& req, Json& patch) {
    std::string if_match = req.get_header_value("If-Match");
    if (if_match.empty()) return;
    if (if_match.rfind("W/", 0) == 0) if_match = if_match.substr(2);
    if (if_match.size() >= 2 && if_match.front() == '"' && if_match.back() == '"') {
        if_match = if_match.substr(1, if_match.size() - 2);
    }
    patch["modified"] = if_match;
}

} // namespace

void list(Api& api, const httplib::Request& req, httplib::Response& res) {
    const core::DocType& dt = api.doctype(req.matches[1].str());
    Principal who = api.authenticate(req);
    api.docs.authorize(dt.name, who, "read");
    core::ListQuery q;
    q.limit = query_integer(req, "limit", 20, 1, 1000);
    q.offset = query_integer(req, "offset", 0, 0, 1LL << 40);
    if (req.has_param("fields")) q.fields = core::parse_fields(dt, req.get_param_value("fields"));
    if (req.has_param("order_by")) {
        q.order_by = core::parse_order_by(dt, req.get_param_value("order_by"));
    }
    if (req.has_param("filters")) {
        q.filters = core::parse_filters_text(dt, req.get_param_value("filters"));
    }
    const core::CountMode count = count_mode(req);
    auto session = api.db.session();
    send_json(res, 200, api.docs.list(*session, dt.name, std::move(q), who, count).to_json());
}

void get(Api& api, const httplib::Request& req, httplib::Response& res) {
    const core::DocType& dt = api.doctype(req.matches[1].str());
    Principal who = api.authenticate(req);
    auto session = api.db.session();
    send_json(res, 200, api.docs.get(*session, dt.name, req.matches[2].str(), who));
}

/// The version history of a document (oldest first), under the document's own read rules.
void versions(Api& api, const httplib::Request& req, httplib::Response& res) {
    const core::DocType& dt = api.doctype(req.matches[1].str());
    Principal who = api.authenticate(req);
    auto session = api.db.session();
    Json items = Json::array();
    for (auto& v : api.docs.versions(*session, dt.name, req.matches[2].str(), who)) {
        items.push_back(std::move(v));
    }
    send_json(res, 200, Json{{"items", items}});
}

void create(Api& api, const httplib::Request& req, httplib::Response& res) {
    const core::DocType& dt = api.doctype(req.matches[1].str());
    Principal who = api.authenticate(req);
    api.docs.authorize(dt.name, who, "create");
    Json body = body_object(req);
    auto session = api.db.session();
    core::UnitOfWork uow(*session);
    Json doc = api.docs.insert(*session, dt.name, body, who);
    uow.commit();
    api.committed();
    send_json(res, 201, doc);
}

void update(Api& api, const httplib::Request& req, httplib::Response& res) {
    const core::DocType& dt = api.doctype(req.matches[1].str());
    Principal who = api.authenticate(req);
    api.docs.authorize(dt.name, who, "write");
    Json patch = body_object(req);
    apply_if_match(req, patch);
    const std::string key = req.matches[2].str();
    auto session = api.db.session();
    core::UnitOfWork uow(*session);
    Json doc = api.docs.update(*session, dt.name, key, patch, who);
    uow.commit();
    api.account_changed(dt, doc);
    api.committed();
    send_json(res, 200, doc);
}

void remove(Api& api, const httplib::Request& req, httplib::Response& res) {
    const core::DocType& dt = api.doctype(req.matches[1].str());
    Principal who = api.authenticate(req);
    const std::string key = req.matches[2].str();
    auto session = api.db.session();
    core::UnitOfWork uow(*session);
    Json doc = api.docs.remove(*session, dt.name, key, who);
    uow.commit();
    api.account_changed(dt, doc);
    api.committed();
    res.status = 204;
}

/// POST …/{id}/submit and …/{id}/cancel.
void transition(Api& api, const httplib::Request& req, httplib::Response& res) {
    const core::DocType& dt = api.doctype(req.matches[1].str());
    const bool submit = req.matches[3].str() == "submit";
    Principal who = api.authenticate(req);
    const std::string key = req.matches[2].str();
    auto session = api.db.session();
    core::UnitOfWork uow(*session);
    Json doc = submit ? api.docs.submit(*session, dt.name, key, who)
                      : api.docs.cancel(*session, dt.name, key, who);
    uow.commit();
    api.committed();
    send_json(res, 200, doc);
}

void rpc(Api& api, const httplib::Request& req, httplib::Response& res) {
    const core::DocType& dt = api.doctype(req.matches[1].str());
    const std::string method = req.matches[2].str();
    Principal who = api.authenticate(req);
    api.docs.authorize(dt.name, who, api.docs.method_permission(dt.name, method));
    Json kwargs = body_object(req, true);
    std::string doc_id;
    if (kwargs.contains("doc_id")) {
        if (!kwargs["doc_id"].is_string()) {
            throw Error(ErrorKind::validation, "doc_id must be a string");
        }
        doc_id = kwargs["doc_id"].get<std::string>();
        kwargs.erase("doc_id");
    }
    auto session = api.db.session();
    core::UnitOfWork uow(*session);
    Json result = api.docs.call(*session, dt.name, doc_id, method, kwargs, who);
    uow.commit();
    api.committed();
    send_json(res, 200, Json{{"result", result}});
}

} // namespace m::server
