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
// process_and_close_socket() and the protected process_request(). An upgrade of cpp-httplib
// changes process_request's parameters, which fails to compile here rather than silently.
#include "m/server/http_server.hpp"

#include "buffered_stream.hpp"
#include "connection.hpp"
#include "event_hub.hpp"
#include "socket_io.hpp"

#include "m/server/request_framer.hpp"

#include "m/core/error.hpp"
#include "m/core/interrupt.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace m::server {

using namespace net;

thread_local Hijack net::t_hijack;

namespace {

// What the library's hooks (below) call back into: HttpServer::Impl.
class Transport {
public:
    /// Registers an accepted socket (accept thread). Never throws.
    virtual bool admit(int fd) noexcept = 0;
    /// The accept loop has ended: finish in-flight requests, close every socket.
    virtual void shutdown_transport() = 0;

protected:
    ~Transport() = default;
};

// The library's Server with our connection handling; everything else (parsing, routing, writing
// responses, handlers) is httplib's own.
class TransportServer final : public httplib::Server {
public:
    explicit TransportServer(Transport& transport) : m_transport(transport) {}

    bool serve_request(httplib::Stream& stream, bool close_connection, bool& connection_closed) {
        return process_request(stream, close_connection, connection_closed, nullptr);
    }
    int listener() const { return svr_sock_; }
    int take_listener() { return svr_sock_.exchange(INVALID_SOCKET); }
    void forget_listener() { svr_sock_ = INVALID_SOCKET; }

private:
    // Runs on the accept thread (our TaskQueue runs jobs inline): registers, never serves.
    bool process_and_close_socket(socket_t sock) override { return m_transport.admit(sock); }

    Transport& m_transport;
};

// The library calls enqueue() from its accept loop; the job is process_and_close_socket(fd),
// which only registers the socket, so running it inline never blocks accepting. shutdown() is
// called once the accept loop has ended.
class InlineTaskQueue final : public httplib::TaskQueue {
public:
    explicit InlineTaskQueue(Transport& transport) : m_transport(transport) {}
    void enqueue(std::function<void()> fn) override { fn(); }
    void shutdown() override { m_transport.shutdown_transport(); }

private:
    Transport& m_transport;
};

} // namespace

struct HttpServer::Impl final : Transport {
    explicit Impl(HttpOptions opts);
    ~Impl();
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    void bind();
    void listen();
    void stop();
    void shutdown_transport() override;

    bool admit(int fd) noexcept override;
    bool evict_longest_idle();
    void reject(int fd) noexcept;
    void worker_loop() noexcept;
    void serve(Conn* conn, WorkerBuffers& buffers);
    bool receive(Conn* conn, WorkerBuffers& buffers);
    bool handle(Conn* conn, WorkerBuffers& buffers, std::size_t length);
    void refuse(Conn* conn, int status, std::string_view message);
    void park(Conn* conn);
    void close_conn(Conn* conn);
    void sweep_idle();

    HttpOptions options;
    FramerLimits limits;
    std::atomic<std::size_t> open_sockets{0};
    std::atomic<std::size_t> rejected{0};
    std::atomic<bool> stopping{false};
    TransportServer server;
    EventHub hub;
    int epoll_fd = -1;
    int stop_fd = -1; // level-triggered in epoll_fd: once written, wakes every worker
    int bound_port = -1;
    std::atomic<int> stopped_listener{-1}; // shut down by stop(), closed once accept has ended

    std::mutex conns_mutex;
    std::unordered_set<Conn*> conns; // idle and active keep-alive connections (not streams)

    std::vector<std::thread> workers;
    std::mutex run_mutex;
    std::condition_variable run_cv;
    bool listening = false;
    bool transport_up = false;
};

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

bool HttpServer::Impl::admit(int fd) noexcept {
    try {
        if (stopping.load()) {
            ::close(fd);
            return false;
        }
        if (open_sockets.load() >= options.max_connections && !evict_longest_idle()) {
            reject(fd);
            return false;
        }
        int yes = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
        auto* conn = new Conn(fd, limits);
        conn->idle_since_ms.store(now_ms());
        {
            std::lock_guard lock(conns_mutex);
            conns.insert(conn);
        }
        ++open_sockets;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
        ev.data.ptr = conn;
        if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close_conn(conn);
            return false;
        }
        return true;
    } catch (const std::exception& e) {
        log_error("accepting a connection", e.what());
        ::close(fd);
        return false;
    }
}

// At the cap: the keep-alive connection idle the longest (and that has served a request, so a
// client that just connected is not thrown out before it spoke) is shut down; the worker woken by
// that frees it.
bool HttpServer::Impl::evict_longest_idle() {
    std::lock_guard lock(conns_mutex);
    Conn* oldest = nullptr;
    for (Conn* conn : conns) {
        if (conn->state.load() != k_parked || conn->served.load() == 0) continue;
        if (!oldest || conn->idle_since_ms.load() < oldest->idle_since_ms.load()) oldest = conn;
    }
    int expected = k_parked;
    if (!oldest || !oldest->state.compare_exchange_strong(expected, k_closing)) return false;
    ::shutdown(oldest->fd, SHUT_RDWR);
    return true;
}

void HttpServer::Impl::reject(int fd) noexcept {
    ++rejected;
    if (send_some(fd, unavailable_response()) < 0) {
        ::close(fd);
        return;
    }
    ::shutdown(fd, SHUT_WR);
    hub.linger(fd);
}

void HttpServer::Impl::worker_loop() noexcept {
    block_signals_in_this_thread();
    WorkerBuffers buffers;
    for (;;) {
        epoll_event ev{};
        const int n = ::epoll_wait(epoll_fd, &ev, 1, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            log_error("worker", std::strerror(errno));
            return;
        }
        // The stop eventfd (level-triggered, so every worker sees it) or a connection that
        // became readable as we stop: shutdown_transport() closes what is left.
        if (n == 0) continue;
        if (ev.data.ptr == nullptr || stopping.load()) return;
        auto* conn = static_cast<Conn*>(ev.data.ptr);
        int expected = k_parked;
        if (!conn->state.compare_exchange_strong(expected, k_active)) {
            close_conn(conn); // swept or evicted meanwhile
            continue;
        }
        try {
            serve(conn, buffers);
        } catch (const std::exception& e) {
            // Only an allocation failure gets here (serve() catches what the library throws).
            log_error("worker", e.what());
            close_conn(conn);
        }
    }
}

// Reads what `conn` has received, then serves every complete request in it (several when they
// were pipelined); then parks it (waiting for the rest of a request, or the next one), closes it,
// or hands it to the hub. Never waits for the client.
void HttpServer::Impl::serve(Conn* conn, WorkerBuffers& buffers) {
    if (!receive(conn, buffers)) return;
    for (;;) {
        const auto status = conn->framer.feed(conn->in);
        if (status == RequestFramer::Status::error) {
            refuse(conn, conn->framer.error_status(), conn->framer.error_message());
            return;
        }
        if (status == RequestFramer::Status::incomplete) {
            if (conn->in.empty()) break; // idle between requests
            const int64_t now = now_ms();
            if (conn->request_started_ms.load() == 0) conn->request_started_ms.store(now);
            if (conn->framer.headers_complete()) {
                if (conn->body_started_ms.load() == 0) conn->body_started_ms.store(now);
                conn->body_received.store(conn->framer.body_received());
                // The client waits for this before it sends the body (RFC 9110 §10.1.1); the
                // library never sees the Expect field (handle() drops it) so it sends no second.
                if (conn->framer.expects_continue() && !conn->continue_sent) {
                    conn->continue_sent = true;
                    if (!send_all(conn->fd, "HTTP/1.1 100 Continue\r\n\r\n")) {
                        close_conn(conn);
                        return;
                    }
                }
            }
            break;
        }
        if (!handle(conn, buffers, conn->framer.length())) return;
        if (conn->in.empty()) break;
        // A pipelined request follows in our buffer: no other worker could see it.
    }
    park(conn);
}

// Appends what the socket has to the connection's request; false when it was closed (the peer
// went away, or failed).
bool HttpServer::Impl::receive(Conn* conn, WorkerBuffers& buffers) {
    for (;;) {
        const ssize_t n =
            ::recv(conn->fd, buffers.scratch.data(), buffers.scratch.size(), MSG_DONTWAIT);
        if (n > 0) {
            conn->in.append(buffers.scratch.data(), static_cast<std::size_t>(n));
            // What the framer refuses is refused before more is read: feed() sees it next.
            if (conn->in.size() > limits.max_header_bytes && !conn->framer.headers_complete()) {
                return true;
            }
            if (static_cast<std::size_t>(n) < buffers.scratch.size()) return true;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        close_conn(conn); // end of input (a half-sent request is abandoned) or an error
        return false;
    }
}

// Runs the complete request of `length` bytes at the start of conn->in through the library.
// False when the connection was closed or handed to the hub.
bool HttpServer::Impl::handle(Conn* conn, WorkerBuffers& buffers, std::size_t length) {
    if (conn->framer.expects_continue()) {
        // Answered by serve() (or not needed: the body came with the headers).
        conn->in.erase(conn->framer.expect_offset(), conn->framer.expect_length());
        length -= conn->framer.expect_length();
    }
    buffers.out.clear();
    BufferedStream stream(*conn, buffers, std::string_view(conn->in.data(), length));
    const bool last = stopping.load() || conn->served.load() + 1 >= k_keep_alive_max;
    bool closed_by_client = false;
    bool ok = false;
    t_hijack = Hijack{};
    bool failed = false;
    try {
        ok = server.serve_request(stream, last, closed_by_client);
    } catch (const std::exception& e) {
        // Thrown by an exception/error handler, the post-routing handler or the logger; what was
        // written of the response is unknown, so the connection goes.
        log_error("request", e.what());
        failed = true;
    } catch (...) {
        log_error("request", "unknown exception");
        failed = true;
    }
    conn->in.erase(0, length);
    conn->framer.reset();
    conn->continue_sent = false;
    conn->request_started_ms.store(0);
    conn->body_started_ms.store(0);
    conn->body_received.store(0);
    Hijack hijack = std::exchange(t_hijack, Hijack{});
    if (failed) {
        if (hijack.stream != 0) hub.cancel(hijack.stream);
        close_conn(conn);
        return false;
    }
    ++conn->served;

    if (hijack.stream != 0 && hijack.requested) {
        std::string head = stream.take_unsent();
        if (!hijack.initial.empty()) head += frame_chunk(hijack.initial);
        ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, conn->fd, nullptr);
        {
            std::lock_guard lock(conns_mutex);
            conns.erase(conn);
        }
        const int fd = conn->fd;
        delete conn; // the socket stays open and counted; the hub owns it now
        hub.adopt(hijack.stream, fd, std::move(head));
        return false;
    }
    if (hijack.stream != 0) hub.cancel(hijack.stream); // HEAD, or the response was replaced
    const bool flushed = stream.flush();
    if (!ok || !flushed || closed_by_client || last || stopping.load()) {
        close_conn(conn);
        return false;
    }
    return true;
}

// Answers a request the framer refused (or a deadline missed) and closes the connection; the hub
// drains what the client still sends, so it reads the answer instead of a reset.
void HttpServer::Impl::refuse(Conn* conn, int status, std::string_view message) {
    const std::string response = refusal(status, message);
    {
        std::lock_guard lock(conns_mutex);
        conns.erase(conn);
    }
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, conn->fd, nullptr);
    const int fd = conn->fd;
    delete conn;
    --open_sockets;
    if (send_some(fd, response) < 0) {
        ::close(fd);
        return;
    }
    ::shutdown(fd, SHUT_WR);
    hub.linger(fd);
}

void HttpServer::Impl::park(Conn* conn) {
    const int fd = conn->fd;
    conn->idle_since_ms.store(now_ms());
    conn->state.store(k_parked);
    // From here on another worker (woken by the re-armed fd) may own `conn`; only the pointer
    // value and the fd read above are used.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.ptr = conn;
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0) {
        // Not armed, so no event will ever deliver it: nobody else can free it.
        close_conn(conn);
    }
}

void HttpServer::Impl::close_conn(Conn* conn) {
    {
        std::lock_guard lock(conns_mutex);
        conns.erase(conn);
    }
    ::close(conn->fd);
    --open_sockets;
    delete conn;
}

// Hub thread, once a second: shut down keep-alive connections idle longer than the timeout, and
// answer 408 to requests past their deadline (headers not complete header_timeout after their
// first byte; a body averaging less than min_body_rate after the read_timeout's grace). The
// worker woken by the shutdown frees them.
void HttpServer::Impl::sweep_idle() {
    const int64_t now = now_ms();
    const int64_t idle_limit = now - int64_t{options.keep_alive_timeout_s} * 1000;
    const int64_t header_limit = now - int64_t{options.header_timeout_s} * 1000;
    const int64_t grace_ms = int64_t{options.read_timeout_s} * 1000;
    std::lock_guard lock(conns_mutex);
    for (Conn* conn : conns) {
        const int64_t started = conn->request_started_ms.load();
        const int64_t body_started = conn->body_started_ms.load();
        const char* late = nullptr;
        if (started == 0) {
            if (conn->idle_since_ms.load() > idle_limit) continue;
        } else if (body_started == 0) {
            if (started > header_limit) continue;
            late = "request headers not received in time";
        } else {
            const int64_t elapsed = now - body_started - grace_ms;
            if (elapsed <= 0 || options.min_body_rate == 0) continue;
            const auto expected = static_cast<std::size_t>(elapsed) * options.min_body_rate / 1000;
            if (conn->body_received.load() >= expected) continue;
            late = "request body arriving too slowly";
        }
        int expected = k_parked;
        if (!conn->state.compare_exchange_strong(expected, k_closing)) continue;
        if (late) {
            // Best effort: the socket is ours now (parked → closing) and the answer is small.
            send_some(conn->fd, refusal(408, late));
        }
        ::shutdown(conn->fd, SHUT_RDWR);
    }
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
