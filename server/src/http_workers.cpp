// The workers of the transport: each takes one readable connection from the epoll set, reads
// what the socket has without waiting, and runs every complete request through httplib from
// memory; then it parks the connection again, closes it, or hands it to the event hub.
#include "http_transport.hpp"

#include "buffered_stream.hpp"
#include "socket_io.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

namespace m::server {

using namespace net;

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

} // namespace m::server
