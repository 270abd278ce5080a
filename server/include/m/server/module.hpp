// The C entry points of the loadable HTTP module (m-server.so).
//
// Why a module: cpp-httplib brings OpenSSL, zlib and brotli (seven shared libraries linked with
// BIND_NOW). Linked into `m`, every command -- `m --version` included -- paid about 6 ms to load
// them. `m serve` and `m routes` dlopen() the module; no other command loads it. Errors come back
// as 1 + core::ErrorKind and a message, like m-postgres.so.
#pragma once

#include "m/server/options.hpp"
#include "m/server/routes.hpp"

#include <cstddef>
#include <vector>

namespace m::core {
class Cache;
class ControllerRegistry;
class Database;
class EventBroker;
class JobQueue;
class JobRegistry;
class MetaRegistry;
} // namespace m::core

namespace m::server {

/// What `m serve` hands the module: the bootstrapped runtime's parts (owned by the caller, alive
/// for the whole call) and the options.
struct ServeRequest {
    const core::MetaRegistry* meta = nullptr;
    core::Database* db = nullptr;
    const core::ControllerRegistry* controllers = nullptr;
    const core::JobRegistry* jobs = nullptr;
    core::JobQueue* queue = nullptr;
    core::EventBroker* broker = nullptr; ///< null = events come from the outbox table
    core::Cache* cache = nullptr;
    ServeOptions options;
};

} // namespace m::server

extern "C" {

/// Version of m the module was built from; the loader refuses a module of another version.
const char* m_server_module_version();

/// Serves until SIGINT or SIGTERM (which the caller has blocked in every thread, so that one
/// thread here takes them with sigwait), then stops gracefully. Prints the "listening on" line
/// on stderr once bound. Returns 0, or 1 + the core::ErrorKind with a message.
int m_server_serve(const m::server::ServeRequest* request, char* message, std::size_t size);

/// Every route of `m serve` (static storage).
const std::vector<m::server::RouteInfo>* m_server_routes();
}
