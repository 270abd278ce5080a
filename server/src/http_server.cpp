// The connection model of `m serve` on cpp-httplib 0.11.4 (docs/reference/dependencies.md
// §7.2, §7.3). The library keeps its accept loop, request parsing, routing
// and response writing; we replace what it does with a socket between requests:
//
//   accept thread  process_and_close_socket(fd) only registers fd in one epoll set (EPOLLONESHOT),
//                  or evicts the longest-idle keep-alive connection / answers 503 at the cap.
//   workers        block in epoll_wait(maxevents = 1) on that set; the winner reads what the
//                  socket has (never waiting) into the connection's buffer and lets the
//                  RequestFramer decide whether a whole request is there. Only a complete request
//                  (headers and body, within the limits) is handed to the library's
//                  process_request(), from memory; a partial one is re-armed, so a slow client
//                  holds no thread. Then the socket is re-armed (keep-alive) or closed.
//   event hub      one thread with its own epoll owns every hijacked event stream: it writes what
//                  publish() renders, pings, notices disconnects, drops clients that fall behind,
//                  and on its 1 s tick also sweeps idle keep-alive connections and requests past
//                  their deadline (headers within header_timeout, the body at min_body_rate).
//
// This relies on two 0.11.x internals (docs/reference/dependencies.md §7.3): the private virtual
// process_and_close_socket() and the protected process_request(), both used by TransportServer in
// http_transport.hpp. An upgrade of cpp-httplib changes process_request's parameters, which fails
// to compile there rather than silently.
//
// This file binds, listens and stops; the workers and the connection limits are beside it
// (http_transport.hpp lists the parts).
#include "m/server/http_server.hpp"

#include "http_transport.hpp"

#include "socket_io.hpp"

#include "m/core/error.hpp"
#include "m/core/interrupt.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace m::server {

using namespace net;

thread_local Hijack net::t_hijack;

HttpServer::Impl::Impl(HttpOptions opts)
    : options(std::move(opts)), server(*this), hub(options, open_sockets) {
    options.workers = std::max(1, options.workers);
    options.keep_alive_timeout_s = std::max(1, options.keep_alive_timeout_s);
    options.read_timeout_s = std::max(1, options.read_timeout_s);
    options.write_timeout_s = std::max(1, options.write_timeout_s);
    options.max_connections = std::max<std::size_t>(1, options.max_connections);
    options.header_timeout_s = std::max(1, options.header_timeout_s);
    limits.max_body = options.max_body;
    limits.max_header_bytes = std::max<std::size_t>(1024, options.max_header_bytes);
    limits.max_request_line = std::min(limits.max_request_line, limits.max_header_bytes);
    limits.max_headers = std::max<std::size_t>(1, options.max_headers);

    epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_fd < 0 || stop_fd < 0) {
        throw core::Error(core::ErrorKind::internal,
                          std::string("http server: ") + std::strerror(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, stop_fd, &ev);

    // SO_REUSEADDR instead of the default SO_REUSEPORT: a second server on the port must fail,
    // not silently take half the requests (docs/reference/dependencies.md §7.5).
    server.set_socket_options([](socket_t s) {
        int yes = 1;
        ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server.set_tcp_nodelay(true);
    server.set_keep_alive_max_count(k_keep_alive_max);
    server.set_keep_alive_timeout(options.keep_alive_timeout_s);
    server.set_read_timeout(options.read_timeout_s, 0);
    server.set_write_timeout(options.write_timeout_s, 0);
    server.set_payload_max_length(options.max_body);
    server.new_task_queue = [this] { return new InlineTaskQueue(*this); };
}

HttpServer::Impl::~Impl() {
    stop();
    {
        std::unique_lock lock(run_mutex);
        run_cv.wait(lock, [this] { return !listening; });
    }
    shutdown_transport();
    if (const int fd = stopped_listener.exchange(-1); fd >= 0) ::close(fd);
    if (const int fd = server.take_listener(); fd != INVALID_SOCKET) ::close(fd);
    ::close(epoll_fd);
    ::close(stop_fd);
}

void HttpServer::Impl::bind() {
    if (server.listener() != INVALID_SOCKET) return;
    raise_fd_limit();
    const std::string where = options.host + ":" + std::to_string(options.port);
    errno = 0;
    if (!server.bind_to_port(options.host, options.port)) {
        const int error = errno;
        throw core::Error(core::ErrorKind::unavailable,
                          "cannot listen on " + where + ": " +
                              (error != 0 ? std::strerror(error) : "cannot bind the address"));
    }
    const int fd = server.listener();
    // The library listened with a backlog of 5; a burst of connects would overflow it.
    if (::listen(fd, k_listen_backlog) != 0) {
        const int error = errno;
        ::close(server.take_listener());
        throw core::Error(core::ErrorKind::unavailable,
                          "cannot listen on " + where + ": " + std::strerror(error));
    }
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    bound_port = addr.ss_family == AF_INET6
                     ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                     : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

void HttpServer::Impl::listen() {
    if (stopping.load()) return; // stop() came first
    bind();
    {
        std::lock_guard lock(run_mutex);
        if (listening) {
            throw core::Error(core::ErrorKind::internal, "http server: listen() is running");
        }
        listening = true;
        transport_up = true;
    }
    struct Done {
        Impl& impl;
        ~Done() {
            std::lock_guard lock(impl.run_mutex);
            impl.listening = false;
            impl.run_cv.notify_all();
        }
    } done{*this};

    bool accepted_until_stop = true;
    if (!stopping.load()) {
        try {
            hub.start([this] { sweep_idle(); });
            for (int i = 0; i < options.workers; ++i) {
                workers.emplace_back([this] { worker_loop(); });
            }
        } catch (const std::system_error& e) { // no thread could be started
            stop();
            shutdown_transport();
            throw core::Error(core::ErrorKind::internal, std::string("http server: ") + e.what());
        }
        // Runs the accept loop until stop(); the library then calls our queue's shutdown().
        server.listen_after_bind();
        accepted_until_stop = stopping.load();
    }
    shutdown_transport();
    if (const int fd = stopped_listener.exchange(-1); fd >= 0) ::close(fd);
    if (!accepted_until_stop) {
        // The library ends its accept loop on an accept() error and closes the socket itself
        // (EINTR included: a signal delivered to this thread).
        server.forget_listener();
        if (!core::interrupted()) {
            throw core::Error(core::ErrorKind::unavailable,
                              "accepting connections on " + options.host + ":" +
                                  std::to_string(bound_port) + " failed");
        }
    }
}

void HttpServer::Impl::stop() {
    stopping.store(true);
    ::eventfd_write(stop_fd, 1);
    // Like httplib's stop(), without its is_running() check (so it also works before listen()
    // got going) and without closing the socket under the accept loop: shutdown() wakes accept(),
    // the socket is closed after the loop has ended.
    if (const int fd = server.take_listener(); fd != INVALID_SOCKET) {
        ::shutdown(fd, SHUT_RDWR);
        stopped_listener.store(fd);
    }
}

// Called by the library once its accept loop has ended (our TaskQueue's shutdown()), and again
// by listen() and the destructor: in-flight requests finish, then every socket is closed.
void HttpServer::Impl::shutdown_transport() {
    {
        std::lock_guard lock(run_mutex);
        if (!transport_up) return;
        transport_up = false;
    }
    stopping.store(true);
    ::eventfd_write(stop_fd, 1);
    for (auto& worker : workers) worker.join();
    workers.clear();
    hub.stop();
    std::lock_guard lock(conns_mutex);
    for (Conn* conn : conns) {
        ::close(conn->fd);
        --open_sockets;
        delete conn;
    }
    conns.clear();
}

HttpServer::HttpServer(HttpOptions options) : m_impl(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() = default;

httplib::Server& HttpServer::routes() {
    return m_impl->server;
}

void HttpServer::bind() {
    m_impl->bind();
}

int HttpServer::port() const {
    return m_impl->bound_port;
}

void HttpServer::listen() {
    m_impl->listen();
}

void HttpServer::stop() {
    m_impl->stop();
}

void HttpServer::open_stream(httplib::Response& res, std::string initial,
                             std::shared_ptr<void> state) {
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    // Registered now, so what is published from here on (the caller may still hold the lock
    // its replay was read under) is queued behind `initial` instead of being missed.
    if (t_hijack.stream != 0) m_impl->hub.cancel(t_hijack.stream); // a second call replaces
    const uint64_t id = m_impl->hub.reserve(std::move(state));
    t_hijack.stream = id;
    // Exactly "text/event-stream": httplib exempts only this content type from gzip/brotli
    // (docs/reference/dependencies.md §7.7), and the hub writes plain chunks.
    res.set_chunked_content_provider(
        "text/event-stream", [initial = std::move(initial), id](size_t, httplib::DataSink&) {
            // Runs on the worker, after the library wrote the headers into our stream; false
            // makes the library stop there and leave the socket to us.
            if (t_hijack.stream == id) {
                t_hijack.requested = true;
                t_hijack.initial = initial;
            }
            return false;
        });
}

void HttpServer::publish(const std::function<std::string(void* state)>& render) {
    m_impl->hub.publish(render);
}

void HttpServer::close_streams(const std::function<bool(void* state)>& which) {
    m_impl->hub.close_streams(which);
}

void HttpServer::set_stream_expiry(std::function<bool(void* state)> expired) {
    m_impl->hub.set_expiry(std::move(expired));
}

HttpStats HttpServer::stats() const {
    HttpStats stats;
    stats.connections = m_impl->open_sockets.load();
    stats.streams = m_impl->hub.streams();
    stats.rejected = m_impl->rejected.load();
    return stats;
}

} // namespace m::server
