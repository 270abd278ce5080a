// The transport of `m serve` (internal to server/src): the hooks into cpp-httplib and the state
// of HttpServer::Impl. Its parts: http_server.cpp (the connection model, binding, listening,
// stopping), http_workers.cpp (the workers: reading, framing and serving requests, parking
// connections) and http_connection_limits.cpp (the connection cap and the sweep of idle
// connections and late requests).
#pragma once

#include "m/server/http_server.hpp"

#include "connection.hpp"
#include "event_hub.hpp"

#include "m/server/request_framer.hpp"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

namespace m::server {

namespace net {

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

} // namespace net

struct HttpServer::Impl final : net::Transport {
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
    void serve(net::Conn* conn, net::WorkerBuffers& buffers);
    bool receive(net::Conn* conn, net::WorkerBuffers& buffers);
    bool handle(net::Conn* conn, net::WorkerBuffers& buffers, std::size_t length);
    void refuse(net::Conn* conn, int status, std::string_view message);
    void park(net::Conn* conn);
    void close_conn(net::Conn* conn);
    void sweep_idle();

    HttpOptions options;
    FramerLimits limits;
    std::atomic<std::size_t> open_sockets{0};
    std::atomic<std::size_t> rejected{0};
    std::atomic<bool> stopping{false};
    net::TransportServer server;
    net::EventHub hub;
    int epoll_fd = -1;
    int stop_fd = -1; // level-triggered in epoll_fd: once written, wakes every worker
    int bound_port = -1;
    std::atomic<int> stopped_listener{-1}; // shut down by stop(), closed once accept has ended

    std::mutex conns_mutex;
    std::unordered_set<net::Conn*> conns; // idle and active keep-alive connections (not streams)

    std::vector<std::thread> workers;
    std::mutex run_mutex;
    std::condition_variable run_cv;
    bool listening = false;
    bool transport_up = false;
};

} // namespace m::server
