// The limits of the transport on connections: admitting an accepted socket (or, at
// max_connections, evicting the longest-idle keep-alive connection or answering 503), and the
// hub's sweep of idle keep-alive connections and of requests past their deadline (408).
#include "http_transport.hpp"

#include "socket_io.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <exception>

namespace m::server {

using namespace net;

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

} // namespace m::server
