// The HTTP runtime of `m serve` (SPEC §6, §8): routes → auth → permissions → the document service
// → events, with one error mapping, an access log and metrics.
//
//   request ─► HttpServer worker ─► route handler (run_route: request id, timing, errors)
//           ─► authenticate (bearer / API key / cookie) ─► core::require(permission)
//           ─► DocumentService in a UnitOfWork (hooks run inside) ─► commit
//           ─► EventBus::publish ─► live streams (each filtered by permission and RLS)
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
