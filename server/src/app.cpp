// The composition of `m serve`'s HTTP side: the handlers' shared state (Api) built from the
// process's services, the route table installed on the transport, the outbox feed and the event
// subscription that reach the live streams.
#include "m/server/app.hpp"

#include "m/core/credentials.hpp"

#include "routes.hpp"
#include "stream.hpp"

#include "m/server/openapi.hpp"

#include <fmt/format.h>

namespace m::server {

namespace {

/// The OpenAPI document of the DocTypes `include` keeps (all when empty).
std::string openapi_text(const core::MetaRegistry& meta,
                         const core::ControllerRegistry& controllers,
                         const std::function<bool(const core::DocType&)>& include = {}) {
    std::map<std::string, std::vector<std::string>> methods;
    for (const auto& dt : meta.all()) {
        for (const auto& name : controllers.method_names(dt->name)) {
            methods[dt->name].push_back(name);
        }
    }
    return openapi_document(meta, methods, M_VERSION, include).dump();
}

bool guest_may_use(const core::DocType& dt) {
    const Principal guest;
    for (const char* action : {"read", "create", "write"}) {
        if (core::allowed(dt, guest, action)) return true;
    }
    return false;
}

std::shared_ptr<DeskFiles> desk_files(const std::filesystem::path& dir) {
    std::error_code ec;
    if (dir.empty() || !std::filesystem::is_regular_file(dir / "index.html", ec)) return nullptr;
    return std::make_shared<DeskFiles>(dir);
}

} // namespace

Api::Api(const core::MetaRegistry& m, core::Database& d, const core::ControllerRegistry& c,
         core::EventBus& e, ServeOptions o, ServeServices sv)
    : meta(m), db(d), controllers(c), events(e), options(std::move(o)), docs(m, d, &c),
      auth(core::database_credentials(m, d), options.auth, sv.shared_cache), http(options.http),
      services(sv), openapi_text(server::openapi_text(m, c)),
      guest_openapi_text(server::openapi_text(m, c, guest_may_use)),
      stream_slots(
          std::make_shared<StreamSlots>(std::max<std::size_t>(1, options.max_streams_per_user))),
      desk(desk_files(options.desk_dir)),
      feed(d, e, sv.broker, std::chrono::milliseconds(25),
           [](const std::string& line) { fmt::print(stderr, "m serve: {}\n", line); }) {
    docs.set_jobs(services.jobs, services.queue);
    for (const auto& dt : meta.all()) {
        if (dt->is_child_table || !dt->api_resource) continue;
        by_alias.emplace(dt->name, dt.get());
        by_alias.emplace(dt->table_name(), dt.get());
    }
}

const core::DocType& Api::doctype(const std::string& segment) const {
    auto it = by_alias.find(segment);
    if (it == by_alias.end()) {
        throw Error(ErrorKind::not_found, fmt::format("unknown DocType '{}'", segment));
    }
    return *it->second;
}

Principal Api::authenticate(const httplib::Request& req, bool query_token, TokenInfo* info) {
    std::string token = header_token(req);
    Principal who;
    if (!token.empty()) {
        who = auth.from_access_token(token, info);
    } else if (req.has_header("X-API-Key")) {
        who = auth.from_api_key(req.get_header_value("X-API-Key"));
    } else if (std::string cookie = cookie_value(req, "m_token"); !cookie.empty()) {
        who = auth.from_access_token(cookie, info);
    } else if (query_token && req.has_param("token")) {
        who = auth.from_access_token(req.get_param_value("token"), info);
    }
    t_request.user = who.user;
    return who;
}

void Api::account_changed(const core::DocType& dt, const Json& doc) {
    if (dt.name == core::k_user_doctype) auth.user_changed(doc.value("name", ""));
}

struct ServerApp::Impl {
    Api api;
    std::uint64_t subscription = 0;

    Impl(const core::MetaRegistry& m, core::Database& d, const core::ControllerRegistry& c,
         core::EventBus& e, ServeOptions o, ServeServices sv)
        : api(m, d, c, e, std::move(o), sv) {
        install_routes(api);
        api.http.set_stream_expiry(stream_expired);
        subscription =
            api.events.subscribe([this](const core::DocEvent& ev) { push_event(api, ev); });
        api.feed.start();
    }

    ~Impl() {
        api.feed.stop();
        api.events.unsubscribe(subscription);
    }
};

ServerApp::ServerApp(const core::MetaRegistry& meta, core::Database& db,
                     const core::ControllerRegistry& controllers, core::EventBus& events,
                     ServeOptions options, Services services)
    : m_impl(std::make_unique<Impl>(meta, db, controllers, events, std::move(options), services)) {}

ServerApp::~ServerApp() = default;

int ServerApp::bind() {
    m_impl->api.http.bind();
    return m_impl->api.http.port();
}

void ServerApp::run() {
    m_impl->api.http.listen();
}

void ServerApp::stop() {
    m_impl->api.http.stop();
}

HttpServer& ServerApp::http() {
    return m_impl->api.http;
}

} // namespace m::server
