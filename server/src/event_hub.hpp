// The event hub of the transport (internal to server/src): the thread that owns every live
// stream's socket, and drains the sockets answered 503.
#pragma once

#include "m/server/http_server.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace m::server::net {

// The event hub: one thread, its own epoll set, every hijacked stream. Everything a stream owns
// is touched under m_mutex (publish() from any thread, the hub thread, workers handing streams
// over); epoll events carry a never-reused id, so an event for a stream closed meanwhile finds
// nothing. A stream is registered when the handler calls open_stream(), before its socket is
// handed over: what publish() renders for it in between is queued behind `initial`, so no event
// falls between a replay and the live stream. The hub also drains and closes the sockets answered
// 503 (closing them with unread input would reset the connection before the client read it).
class EventHub {
public:
    EventHub(const HttpOptions& options, std::atomic<std::size_t>& open_sockets);

    ~EventHub();
    EventHub(const EventHub&) = delete;
    EventHub& operator=(const EventHub&) = delete;

    /// `on_tick` runs on the hub thread about once a second (the keep-alive sweep).
    void start(std::function<void()> on_tick);

    /// Joins the hub thread, ends every stream with the last chunk and closes it.
    void stop();

    /// Registers a stream whose socket is not handed over yet (open_stream(), in a handler);
    /// publish() queues for it from now on. Returns its id for adopt() or cancel().
    uint64_t reserve(std::shared_ptr<void> state);

    /// The handler's response ended without becoming a stream (HEAD, an error, shutdown).
    void cancel(uint64_t id) noexcept;

    /// Takes over `fd` for reserved stream `id`: writes `head` (headers not sent yet and the
    /// `initial` chunk), then what was queued. Never throws: on failure the socket is closed.
    void adopt(uint64_t id, int fd, std::string head) noexcept;

    /// Drains `fd` (already answered and shut down for writing) until the client closes it or
    /// k_linger_ms passes, then closes it. Not counted as an open connection.
    void linger(int fd) noexcept;

    void publish(const std::function<std::string(void* state)>& render);

    std::size_t streams() const { return m_streams.load(); }

    /// Ends (last chunk, close) every open stream for whose state `which` is true.
    void close_streams(const std::function<bool(void* state)>& which);

    /// Checked for every open stream on each tick (a second): true ends the stream.
    void set_expiry(std::function<bool(void* state)> expired);

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
    bool write(uint64_t id, Client& client, std::string_view data);

    bool watch(uint64_t id, Client& client, uint32_t events);

    // Closes the client's socket (which also leaves the epoll set) and updates the counters; the
    // state goes to `released`, to be destroyed once m_mutex is released.
    void forget(Client& client, std::vector<std::shared_ptr<void>>& released);

    Clients::iterator close_client(Clients::iterator it,
                                   std::vector<std::shared_ptr<void>>& released);

    void on_event(Clients::iterator it, uint32_t events,
                  std::vector<std::shared_ptr<void>>& released);

    void on_writable(Clients::iterator it);

    void on_tick(int64_t now, bool ping, std::vector<std::shared_ptr<void>>& released);

    void run();

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

} // namespace m::server::net
