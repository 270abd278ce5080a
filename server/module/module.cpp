// Entry points of m-server.so (see module.hpp).
#include "m/server/module.hpp"

#include "m/core/cache.hpp"
#include "m/core/error.hpp"
#include "m/core/events.hpp"
#include "m/server/app.hpp"

#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <pthread.h>
#include <thread>

namespace {

void copy_message(const char* text, char* out, std::size_t size) {
    if (size == 0) return;
    std::strncpy(out, text, size - 1);
    out[size - 1] = '\0';
}

void serve(const m::server::ServeRequest& request) {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    const auto& o = request.options;
    m::core::InProcessEventBus events;
    m::server::ServerApp app(*request.meta, *request.db, *request.controllers, events, o,
                             {request.jobs, request.queue, request.broker,
                              request.cache && request.cache->shared() ? request.cache : nullptr});
    int port = app.bind();

    std::atomic<bool> finished{false};
    std::thread watcher([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        if (!finished) {
            fmt::print(stderr, "m serve: {} received, finishing in-flight requests\n",
                       sig == SIGINT ? "SIGINT" : "SIGTERM");
        }
        app.stop();
    });
    fmt::print(stderr, "m serve: listening on http://{}:{} ({} workers, {}, Desk {})\n",
               o.http.host, port, o.http.workers, request.db->display_url(),
               o.desk_dir.empty() ? "not built" : o.desk_dir.string());
    std::fflush(stderr);
    auto wake_watcher = [&] {
        finished = true;
        pthread_kill(watcher.native_handle(), SIGTERM);
        watcher.join();
    };
    try {
        app.run();
    } catch (...) {
        wake_watcher();
        throw;
    }
    // Wake the watcher if run() returned without a signal, so it can be joined.
    wake_watcher();
    fmt::print(stderr, "m serve: stopped\n");
}

} // namespace

extern "C" {

__attribute__((visibility("default"))) const char* m_server_module_version() {
    return M_VERSION;
}

__attribute__((visibility("default"))) int m_server_serve(const m::server::ServeRequest* request,
                                                          char* message, std::size_t size) {
    try {
        serve(*request);
        return 0;
    } catch (const m::core::Error& e) {
        copy_message(e.what(), message, size);
        return 1 + static_cast<int>(e.kind());
    } catch (const std::exception& e) {
        copy_message(e.what(), message, size);
        return 1 + static_cast<int>(m::core::ErrorKind::internal);
    }
}

__attribute__((visibility("default"))) const std::vector<m::server::RouteInfo>* m_server_routes() {
    return &m::server::route_table();
}
}
