// The HTTP runtime of `m serve` (docs/reference/http-api.md): the route table on the transport,
// with one error mapping, an access log and metrics.
//
//   request ─► HttpServer worker ─► middleware (request id, security headers, CORS)
//           ─► route of the table (server/src/route_table.cpp; errors → JSON in reply.cpp)
//           ─► authenticate (bearer / API key / cookie) ─► DocumentService as the caller
//              (permissions, RLS) in a UnitOfWork (hooks run inside) ─► commit
//           ─► outbox ─► EventFeed ─► EventBus ─► live streams (filtered by permission and RLS)
#pragma once

#include "m/core/controller.hpp"
#include "m/core/database.hpp"
#include "m/core/doctype.hpp"
#include "m/core/events.hpp"
#include "m/server/auth.hpp"
#include "m/server/http_server.hpp"
#include "m/server/metrics.hpp"
#include "m/server/options.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace m::core {
class Cache;
class EventBroker;
class JobQueue;
class JobRegistry;
} // namespace m::core

namespace m::server {

/// The parts of the runtime the API uses besides the database. Any pointer may be null (no jobs
/// API without a queue; events from the outbox table without a broker).
struct ServeServices {
    const core::JobRegistry* jobs = nullptr;
    core::JobQueue* queue = nullptr;
    core::EventBroker* broker = nullptr;
    core::Cache* shared_cache = nullptr; ///< Redis: rate limits and revocations shared by processes
};

class ServerApp {
public:
    using Services = ServeServices;

    ServerApp(const core::MetaRegistry& meta, core::Database& db,
              const core::ControllerRegistry& controllers, core::EventBus& events,
              ServeOptions options, Services services = {});
    ~ServerApp();

    /// Binds (throws Error{unavailable} when the port is taken) and returns the port.
    int bind();
    /// Serves until stop().
    void run();
    /// Thread-safe.
    void stop();

    HttpServer& http();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace m::server
