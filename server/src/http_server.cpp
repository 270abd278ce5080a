// The connection model of `m serve` on cpp-httplib 0.11.4 (design "c2" of
// shared/HTTPLIB-CONNECTION-NOTES.md). The library keeps its accept loop, request parsing, routing
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
// This relies on two 0.11.x internals (notes, pitfall 9): the private virtual
// process_and_close_socket() and the protected process_request(). An upgrade of cpp-httplib
// changes process_request's parameters, which fails to compile here rather than silently.
#include "m/server/http_server.hpp"

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

namespace {

constexpr int k_listen_backlog = 4096;              // the .so hard-codes 5 (notes, pitfall 1)
constexpr std::size_t k_keep_alive_max = 100000;    // requests per connection (default 5)
constexpr std::size_t k_read_buffer = 16 * 1024;    // per worker
constexpr std::size_t k_write_hold_max = 64 * 1024; // a held write larger than this goes out now
constexpr int64_t k_tick_ms = 1000;                 // keep-alive sweep and ping resolution
constexpr int64_t k_linger_ms = 2000;               // a rejected socket is drained this long
constexpr std::size_t k_linger_max_sockets = 1024;  // beyond: close rejected sockets at once
constexpr std::size_t k_linger_max_bytes = 64 * 1024;
constexpr int k_hub_events = 64;

constexpr std::string_view k_unavailable_body =
    R"({"error":"Unavailable","message":"server at connection limit"})";
constexpr std::string_view k_ping = ": ping\n\n";
constexpr std::string_view k_last_chunk = "0\r\n\r\n";

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// An answer the transport writes straight to the socket, before or instead of the library: the
// SPEC §6 error shape, and the connection closes after it.
std::string direct_response(int status, std::string_view reason, std::string_view body,
                            std::string_view extra_headers = {}) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                      "\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
                      "Connection: close\r\n";
    out += extra_headers;
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    out += body;
    return out;
}

// The answer at the connection cap, written straight to the socket (no request is read).
const std::string& unavailable_response() {
    static const std::string response =
        direct_response(503, "Service Unavailable", k_unavailable_body, "Retry-After: 1\r\n");
    return response;
}

const char* reason_phrase(int status) {
    switch (status) {
    case 400:
        return "Bad Request";
    case 408:
        return "Request Timeout";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    default:
        return "Error";
    }
}

// A refused request (framer errors, deadlines) in the SPEC §6 shape.
std::string refusal(int status, std::string_view message) {
    const char* name = status == 408 ? "Timeout" : "ValidationError";
    std::string body = R"({"error":")";
    body += name;
    body += R"(","message":")";
    for (char c : message) { // the framer's own messages, plus a method name of the request
        if (c == '"' || c == '\\') body += '\\';
        if (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f) {
            body += c;
        }
    }
    body += R"(","details":null})";
    return direct_response(status, reason_phrase(status), body);
}

void log_error(const char* where, const char* what) {
    std::fprintf(stderr, "m serve: %s: %s\n", where, what);
}

// Our threads never take process signals, so the serve command's signal handling (a handler or a
// watching thread) sees them and none of our blocking calls is interrupted.
void block_signals_in_this_thread() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string frame_chunk(std::string_view data) {
    char head[24];
    const int n = std::snprintf(head, sizeof head, "%zx\r\n", data.size());
    std::string out;
    out.reserve(static_cast<std::size_t>(n) + data.size() + 2);
    out.append(head, static_cast<std::size_t>(n));
    out.append(data);
    out.append("\r\n");
    return out;
}

// Writes both parts completely on a blocking socket; SO_SNDTIMEO (the write timeout, set by the
// library's accept loop) bounds every wait. One sendmsg() for headers + body in the common case.
bool send_all(int fd, std::string_view first, std::string_view second = {}) {
    iovec iov[2];
    std::size_t count = 0;
    for (std::string_view part : {first, second}) {
        if (part.empty()) continue;
        iov[count].iov_base = const_cast<char*>(part.data());
        iov[count].iov_len = part.size();
        ++count;
    }
    std::size_t index = 0;
    while (index < count) {
        msghdr msg{};
        msg.msg_iov = iov + index;
        msg.msg_iovlen = count - index;
        const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        auto sent = static_cast<std::size_t>(n);
        while (index < count && sent >= iov[index].iov_len) sent -= iov[index++].iov_len;
        if (index < count) {
            iov[index].iov_base = static_cast<char*>(iov[index].iov_base) + sent;
            iov[index].iov_len -= sent;
        }
    }
    return true;
}

// A non-blocking send; returns the bytes written (0 when the socket buffer is full) or -1 when
// the peer is gone.
ssize_t send_some(int fd, std::string_view data) {
    for (;;) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return -1;
    }
}

void socket_address(int fd, bool peer, std::string& ip, int& port) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    auto* sa = reinterpret_cast<sockaddr*>(&addr);
    if ((peer ? ::getpeername(fd, sa, &len) : ::getsockname(fd, sa, &len)) != 0) return;
    char host[NI_MAXHOST];
    if (::getnameinfo(sa, len, host, sizeof host, nullptr, 0, NI_NUMERICHOST) == 0) ip = host;
    if (addr.ss_family == AF_INET) {
        port = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    } else if (addr.ss_family == AF_INET6) {
        port = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    }
}

void raise_fd_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit); // best effort: the cap still answers 503 when it fails
}

// What a handler's open_stream() and then its content provider leave for the worker running the
// request: the stream reserved in the hub and, once the library has written the status line and
// headers into our stream and stopped (the provider returned false), the request to hand the
// socket over.
struct Hijack {
    uint64_t stream = 0; ///< reserved in the hub by open_stream(); 0 = none
    bool requested = false;
    std::string initial;
};
thread_local Hijack t_hijack;

// One keep-alive connection between the accept thread and the workers. Exactly one thread owns
// it at a time: a worker while `active`; while `parked` whoever wins the compare-exchange on
// `state` (a worker woken by epoll, or the sweep/eviction that marks it `closing` and shuts the
// socket down, which wakes a worker to free it).
enum ConnState : int { k_active, k_parked, k_closing };

struct Conn {
    Conn(int socket, const FramerLimits& limits) : fd(socket), framer(limits) {}
    const int fd;
    std::atomic<int> state{k_parked};
    std::atomic<int64_t> idle_since_ms{0};
    std::atomic<std::size_t> served{0};
    // The request being received (owned like the rest by whoever owns `state`); its progress is
    // also published for the sweep's deadlines: when its first byte came (0 = none), when its
    // headers were complete (0 = not yet) and how much body has arrived.
    std::string in;
    RequestFramer framer;
    bool continue_sent = false;
    std::atomic<int64_t> request_started_ms{0};
    std::atomic<int64_t> body_started_ms{0};
    std::atomic<std::size_t> body_received{0};
    // Filled once by the worker serving the first request (handed over through `state`).
    bool addresses_known = false;
    std::string remote_ip, local_ip;
    int remote_port = -1, local_port = -1;
};

// Per-worker buffers: what one recv() takes before it is appended to the connection's request,
// and the held write.
struct WorkerBuffers {
    std::vector<char> scratch = std::vector<char>(k_read_buffer);
    std::string out;
};

// httplib::Stream over one complete request that the framer found in the connection's buffer:
// reads come from memory (the request is all there, so the library never waits for a client),
// writes go to the socket. The first write of a response (the status line and headers) is held
// and leaves with the next write (the body) in one send(), or at flush().
class BufferedStream final : public httplib::Stream {
public:
    BufferedStream(Conn& conn, WorkerBuffers& buffers, std::string_view request)
        : m_conn(conn), m_buffers(buffers), m_request(request) {}

    bool is_readable() const override { return !m_request.empty(); }
    bool is_writable() const override { return m_ok; }

    ssize_t read(char* ptr, size_t size) override {
        const std::size_t n = std::min(size, m_request.size());
        std::memcpy(ptr, m_request.data(), n);
        m_request.remove_prefix(n);
        return static_cast<ssize_t>(n);
    }

    ssize_t write(const char* ptr, size_t size) override {
        if (!m_ok) return -1;
        if (m_hold && m_buffers.out.size() + size <= k_write_hold_max) {
            m_hold = false;
            m_buffers.out.append(ptr, size);
            return static_cast<ssize_t>(size);
        }
        m_hold = false;
        m_ok = send_all(m_conn.fd, m_buffers.out, std::string_view(ptr, size));
        m_buffers.out.clear();
        return m_ok ? static_cast<ssize_t>(size) : -1;
    }

    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        load_addresses();
        ip = m_conn.remote_ip;
        port = m_conn.remote_port;
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        load_addresses();
        ip = m_conn.local_ip;
        port = m_conn.local_port;
    }
    socket_t socket() const override { return m_conn.fd; }

    /// Sends what is held. False when the connection failed.
    bool flush() {
        if (m_ok && !m_buffers.out.empty()) m_ok = send_all(m_conn.fd, m_buffers.out);
        m_buffers.out.clear();
        return m_ok;
    }

    /// What is held and not sent yet (handed to the hub with a hijacked stream).
    std::string take_unsent() { return std::exchange(m_buffers.out, std::string()); }

private:
    void load_addresses() const {
        if (m_conn.addresses_known) return;
        socket_address(m_conn.fd, true, m_conn.remote_ip, m_conn.remote_port);
        socket_address(m_conn.fd, false, m_conn.local_ip, m_conn.local_port);
        m_conn.addresses_known = true;
    }

    Conn& m_conn;
    WorkerBuffers& m_buffers;
    std::string_view m_request;
    bool m_hold = true;
    bool m_ok = true;
};

// The event hub: one thread, its own epoll set, every hijacked stream. Everything a stream owns
// is touched under m_mutex (publish() from any thread, the hub thread, workers handing streams
// over); epoll events carry a never-reused id, so an event for a stream closed meanwhile finds
// nothing. A stream is registered when the handler calls open_stream(), before its socket is
// handed over: what publish() renders for it in between is queued behind `initial`, so no event
// falls between a replay and the live stream. The hub also drains and closes the sockets answered
// 503 (closing them with unread input would reset the connection before the client read it).
class EventHub {
public:
    EventHub(const HttpOptions& options, std::atomic<std::size_t>& open_sockets)
        : m_options(options), m_open_sockets(open_sockets) {
        m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
        m_wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (m_epoll < 0 || m_wake < 0) {
            throw core::Error(core::ErrorKind::internal,
                              std::string("event hub: ") + std::strerror(errno));
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = 0;
        ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_wake, &ev);
    }

    ~EventHub() {
        stop();
        ::close(m_epoll);
        ::close(m_wake);
    }
    EventHub(const EventHub&) = delete;
    EventHub& operator=(const EventHub&) = delete;

    /// `on_tick` runs on the hub thread about once a second (the keep-alive sweep).
    void start(std::function<void()> on_tick) {
        std::lock_guard lock(m_mutex);
        m_on_tick = std::move(on_tick);
        m_running = true;
        m_thread = std::thread([this] { run(); });
    }

    /// Joins the hub thread, ends every stream with the last chunk and closes it.
    void stop() {
        {
            std::lock_guard lock(m_mutex);
            if (!m_running) return;
            m_running = false;
        }
        ::eventfd_write(m_wake, 1);
        if (m_thread.joinable()) m_thread.join();
        std::vector<std::shared_ptr<void>> released; // destroyed after the lock is released
        std::lock_guard lock(m_mutex);
        for (auto& [id, client] : m_clients) {
            if (client.kind == Kind::stream) {
                client.pending.append(k_last_chunk);
                send_some(client.fd, client.pending); // best effort: the socket closes anyway
            }
            forget(client, released);
        }
        m_clients.clear();
    }

    /// Registers a stream whose socket is not handed over yet (open_stream(), in a handler);
    /// publish() queues for it from now on. Returns its id for adopt() or cancel().
    uint64_t reserve(std::shared_ptr<void> state) {
        std::lock_guard lock(m_mutex);
        const uint64_t id = m_next_id++;
        Client& client = m_clients[id];
        client.kind = Kind::opening;
        client.state = std::move(state);
        return id;
    }

    /// The handler's response ended without becoming a stream (HEAD, an error, shutdown).
    void cancel(uint64_t id) noexcept {
        std::vector<std::shared_ptr<void>> released;
        std::lock_guard lock(m_mutex);
        if (auto it = m_clients.find(id); it != m_clients.end()) close_client(it, released);
    }

    /// Takes over `fd` for reserved stream `id`: writes `head` (headers not sent yet and the
    /// `initial` chunk), then what was queued. Never throws: on failure the socket is closed.
    void adopt(uint64_t id, int fd, std::string head) noexcept {
        std::vector<std::shared_ptr<void>> released;
        std::lock_guard lock(m_mutex);
        auto it = m_clients.find(id);
        if (it == m_clients.end() || it->second.kind != Kind::opening || it->second.overflow ||
            !m_running) {
            ::close(fd);
            --m_open_sockets;
            if (it != m_clients.end()) close_client(it, released);
            return;
        }
        Client& client = it->second;
        client.kind = Kind::stream;
        client.fd = fd;
        ++m_streams;
        try {
            head += std::exchange(client.pending, std::string());
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLRDHUP;
            ev.data.u64 = id;
            if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev) != 0 || !write(id, client, head)) {
                close_client(it, released);
            }
        } catch (const std::exception& e) {
            log_error("event stream", e.what());
            close_client(it, released);
        }
    }

    /// Drains `fd` (already answered and shut down for writing) until the client closes it or
    /// k_linger_ms passes, then closes it. Not counted as an open connection.
    void linger(int fd) noexcept {
        std::vector<std::shared_ptr<void>> released;
        std::lock_guard lock(m_mutex);
        if (!m_running || m_lingering >= k_linger_max_sockets) {
            ::close(fd);
            return;
        }
        try {
            const uint64_t id = m_next_id++;
            auto it = m_clients.try_emplace(id).first;
            it->second.kind = Kind::lingering;
            it->second.fd = fd;
            it->second.deadline_ms = now_ms() + k_linger_ms;
            ++m_lingering;
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLRDHUP;
            ev.data.u64 = id;
            if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev) != 0) close_client(it, released);
        } catch (const std::exception& e) {
            log_error("closing a rejected connection", e.what());
            ::close(fd);
        }
    }

    void publish(const std::function<std::string(void* state)>& render) {
        std::vector<std::shared_ptr<void>> released; // destroyed after the lock is released
        std::lock_guard lock(m_mutex);
        for (auto it = m_clients.begin(); it != m_clients.end();) {
            Client& client = it->second;
            if (client.kind == Kind::lingering || client.overflow) {
                ++it;
                continue;
            }
            const std::string event = render(client.state.get());
            if (!event.empty() && !write(it->first, client, frame_chunk(event))) {
                if (client.kind == Kind::opening) {
                    client.overflow = true; // adopt() closes it; its handler still owns it
                    client.pending.clear();
                    ++it;
                } else {
                    it = close_client(it, released);
                }
            } else {
                ++it;
            }
        }
    }

    std::size_t streams() const { return m_streams.load(); }

    /// Ends (last chunk, close) every open stream for whose state `which` is true.
    void close_streams(const std::function<bool(void* state)>& which) {
        std::vector<std::shared_ptr<void>> released;
        std::lock_guard lock(m_mutex);
        for (auto it = m_clients.begin(); it != m_clients.end();) {
            Client& client = it->second;
            if (client.kind == Kind::lingering || !client.state || !which(client.state.get())) {
                ++it;
                continue;
            }
            if (client.kind == Kind::opening) { // adopt() closes it when its handler is done
                client.overflow = true;
                client.pending.clear();
                ++it;
                continue;
            }
            client.pending.append(k_last_chunk);
            send_some(client.fd, client.pending);
            it = close_client(it, released);
        }
    }

    /// Checked for every open stream on each tick (a second): true ends the stream.
    void set_expiry(std::function<bool(void* state)> expired) {
        std::lock_guard lock(m_mutex);
        m_expired = std::move(expired);
    }

private:
    enum class Kind { opening, stream, lingering };
    struct Client {
        Kind kind = Kind::opening;
        int fd = -1;                 ///< -1 while opening
        std::string pending;         ///< stream bytes the socket did not take (or queued)
        bool overflow = false;       ///< opening: more than stream_max_pending was queued
        std::shared_ptr<void> state; ///< the stream's, handed to render
        int64_t deadline_ms = 0;     ///< lingering: close at
        std::size_t drained = 0;     ///< lingering: bytes read
    };
    using Clients = std::unordered_map<uint64_t, Client>;

    // Queues `data` behind what is pending or sends what the socket takes, arming EPOLLOUT for
    // the rest. False when the client is gone or too far behind (the caller drops it).
    bool write(uint64_t id, Client& client, std::string_view data) {
        if (data.empty()) return true;
        if (client.kind == Kind::opening || !client.pending.empty()) {
            if (client.pending.size() + data.size() > m_options.stream_max_pending) return false;
            client.pending.append(data);
            return true;
        }
        const ssize_t n = send_some(client.fd, data);
        if (n < 0) return false;
        const auto rest = data.substr(static_cast<std::size_t>(n));
        if (rest.empty()) return true;
        if (rest.size() > m_options.stream_max_pending) return false;
        client.pending.assign(rest);
        return watch(id, client, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
    }

    bool watch(uint64_t id, Client& client, uint32_t events) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = id;
        return ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, client.fd, &ev) == 0;
    }

    // Closes the client's socket (which also leaves the epoll set) and updates the counters; the
    // state goes to `released`, to be destroyed once m_mutex is released.
    void forget(Client& client, std::vector<std::shared_ptr<void>>& released) {
        if (client.fd >= 0) ::close(client.fd);
        if (client.kind == Kind::stream) {
            --m_streams;
            --m_open_sockets;
        } else if (client.kind == Kind::lingering) {
            --m_lingering;
        }
        if (client.state) released.push_back(std::move(client.state));
    }

    Clients::iterator close_client(Clients::iterator it,
                                   std::vector<std::shared_ptr<void>>& released) {
        forget(it->second, released);
        return m_clients.erase(it);
    }

    void on_event(Clients::iterator it, uint32_t events,
                  std::vector<std::shared_ptr<void>>& released) {
        Client& client = it->second;
        const bool stream = client.kind == Kind::stream;
        const uint32_t gone = EPOLLERR | EPOLLHUP | (stream ? uint32_t{EPOLLRDHUP} : 0u);
        if (events & gone) {
            close_client(it, released);
            return;
        }
        if (events & (EPOLLIN | EPOLLRDHUP)) {
            // A stream client has nothing more to say; a rejected one may still be sending its
            // request. Either way: read and discard, close at end of input.
            char scratch[4096];
            for (;;) {
                const ssize_t n = ::recv(client.fd, scratch, sizeof scratch, MSG_DONTWAIT);
                if (n > 0) {
                    client.drained += static_cast<std::size_t>(n);
                    if (!stream && client.drained > k_linger_max_bytes) break;
                    continue;
                }
                if (n < 0 && errno == EINTR) continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return on_writable(it);
                break; // end of input or an error
            }
            close_client(it, released);
            return;
        }
        on_writable(it);
    }

    void on_writable(Clients::iterator it) {
        Client& client = it->second;
        if (client.kind != Kind::stream || client.pending.empty()) return;
        const ssize_t n = send_some(client.fd, client.pending);
        if (n < 0) return; // EPOLLERR/EPOLLHUP follows and closes it
        client.pending.erase(0, static_cast<std::size_t>(n));
        if (client.pending.empty()) watch(it->first, client, EPOLLIN | EPOLLRDHUP);
    }

    void on_tick(int64_t now, bool ping, std::vector<std::shared_ptr<void>>& released) {
        for (auto it = m_clients.begin(); it != m_clients.end();) {
            Client& client = it->second;
            if (client.kind == Kind::lingering && now >= client.deadline_ms) {
                it = close_client(it, released);
            } else if (client.kind == Kind::stream && m_expired && client.state &&
                       m_expired(client.state.get())) {
                client.pending.append(k_last_chunk);
                send_some(client.fd, client.pending);
                it = close_client(it, released);
            } else if (client.kind == Kind::stream && ping && client.pending.empty() &&
                       !write(it->first, client, frame_chunk(k_ping))) {
                it = close_client(it, released);
            } else {
                ++it;
            }
        }
    }

    void run() {
        block_signals_in_this_thread();
        const int64_t ping_ms = int64_t{m_options.stream_ping_s} * 1000;
        int64_t next_tick = now_ms() + k_tick_ms;
        int64_t next_ping = now_ms() + ping_ms;
        epoll_event events[k_hub_events];
        for (;;) {
            const int timeout = static_cast<int>(std::max<int64_t>(0, next_tick - now_ms()));
            const int n = ::epoll_wait(m_epoll, events, k_hub_events, timeout);
            if (n < 0 && errno != EINTR) {
                log_error("event hub", std::strerror(errno));
                return;
            }
            std::vector<std::shared_ptr<void>> released;
            const int64_t now = now_ms();
            const bool tick = now >= next_tick;
            const bool ping = tick && ping_ms > 0 && now >= next_ping;
            std::function<void()> sweep;
            {
                std::lock_guard lock(m_mutex);
                if (!m_running) return;
                for (int i = 0; i < n; ++i) {
                    const uint64_t id = events[i].data.u64;
                    if (id == 0) {
                        eventfd_t value;
                        ::eventfd_read(m_wake, &value);
                        continue;
                    }
                    auto it = m_clients.find(id);
                    if (it != m_clients.end()) on_event(it, events[i].events, released);
                }
                if (tick) {
                    on_tick(now, ping, released);
                    sweep = m_on_tick;
                }
            }
            if (tick) {
                next_tick = now + k_tick_ms;
                if (ping) next_ping = now + ping_ms;
                if (sweep) sweep();
            }
        }
    }

    const HttpOptions& m_options;
    std::atomic<std::size_t>& m_open_sockets;
    int m_epoll = -1;
    int m_wake = -1;
    std::thread m_thread;
    std::function<void()> m_on_tick;
    std::function<bool(void*)> m_expired;

    mutable std::mutex m_mutex;
    bool m_running = false;
    Clients m_clients;
    uint64_t m_next_id = 1; // 0 is the wake-up eventfd
    std::size_t m_lingering = 0;
    std::atomic<std::size_t> m_streams{0};
};

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
    // not silently take half the requests (notes, pitfall 2).
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
    // (pitfall 7), and the hub writes plain chunks.
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
