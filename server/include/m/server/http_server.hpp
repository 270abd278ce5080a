// The HTTP transport of `m serve`: cpp-httplib 0.11.4 with a connection model that holds thousands
// of idle keep-alive connections and open live streams without a thread each
// (docs/reference/dependencies.md §7.2, §7.3):
//
//   accept thread ─► connection parked in one epoll set (EPOLLONESHOT, no thread)
//   N workers     ─► epoll_wait → run httplib's own request processing on the readable socket
//                    → re-park it (keep-alive) or close it
//   SSE hub       ─► one thread owns every hijacked event stream: writes events, pings, notices
//                    disconnects at once, drops clients that fall too far behind
//
// Routes are registered on routes() with the ordinary httplib API before listen(). A handler turns
// its response into a live stream with open_stream(); publish() then reaches every open stream.
// This header exposes httplib types; only server/ includes it.
#pragma once

#include "m/server/options.hpp"

#include <httplib.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace m::server {

/// Counters for /metrics and tests (a snapshot; each value read atomically).
struct HttpStats {
    std::size_t connections = 0; ///< open sockets, streams included
    std::size_t streams = 0;     ///< open live streams
    std::size_t rejected = 0;    ///< connections answered 503 at the cap
};

class HttpServer {
public:
    explicit HttpServer(HttpOptions options);
    ~HttpServer(); ///< stops if still running
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Register handlers, pre/post routing handlers, error/exception handlers, mount points here,
    /// before bind(). Payload limit, timeouts and keep-alive are already configured.
    httplib::Server& routes();

    /// Binds the listening socket (backlog 4096, SO_REUSEADDR, not SO_REUSEPORT) and raises
    /// RLIMIT_NOFILE. Throws core::Error{unavailable} naming host:port when the port is taken.
    void bind();

    /// The bound port (after bind()).
    int port() const;

    /// Serves until stop(); returns after every worker and the hub have finished (in-flight
    /// requests complete; idle connections and streams are closed). Calls bind() if needed.
    /// Throws core::Error{unavailable} if the library's accept loop fails other than by stop().
    void listen();

    /// Asks listen() to return. Thread-safe; may be called before listen() starts. A request
    /// still being received at that moment is abandoned (its connection closed); handlers that
    /// are running finish and their responses are sent.
    void stop();

    /// From inside a handler: turns this response into a live event stream (status 200,
    /// `text/event-stream`, `Cache-Control: no-cache`, chunked) that the hub owns after the
    /// handler returns. `initial` is written first (a replay of missed events, a retry hint);
    /// `state` travels with the stream and is handed to publish()'s render function. publish()
    /// reaches the stream as soon as open_stream() returns (queued behind `initial` until the
    /// socket is handed over), so no event falls between a replay and the live stream.
    void open_stream(httplib::Response& res, std::string initial, std::shared_ptr<void> state);

    /// Writes to every open stream what `render(state)` returns for it (nothing when it returns
    /// an empty string). Thread-safe; render runs on the calling thread under the hub's lock, so
    /// it must be quick and must not call back into the server.
    void publish(const std::function<std::string(void* state)>& render);

    /// Ends every open stream for whose state `which` returns true (its session was revoked):
    /// the last chunk, then the socket closes. Thread-safe; `which` runs under the hub's lock.
    void close_streams(const std::function<bool(void* state)>& which);

    /// Before listen(): `expired(state)` is asked for every open stream about once a second; a
    /// stream it returns true for is ended (its token expired; the client reconnects).
    void set_stream_expiry(std::function<bool(void* state)> expired);

    HttpStats stats() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace m::server
