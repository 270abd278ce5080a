// One connection of the transport and what passes between its threads (internal to server/src):
// the limits of the connection model, a connection's state, the per-worker buffers, and what a
// hijacked response (a live stream) leaves for the worker that runs it.
#pragma once

#include "m/server/request_framer.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace m::server::net {

inline constexpr int k_listen_backlog =
    4096; // the .so hard-codes 5 (docs/reference/dependencies.md §7.4)
inline constexpr std::size_t k_keep_alive_max = 100000; // requests per connection (default 5)
inline constexpr std::size_t k_read_buffer = 16 * 1024; // per worker
inline constexpr std::size_t k_write_hold_max =
    64 * 1024;                               // a held write larger than this goes out now
inline constexpr int64_t k_tick_ms = 1000;   // keep-alive sweep and ping resolution
inline constexpr int64_t k_linger_ms = 2000; // a rejected socket is drained this long
inline constexpr std::size_t k_linger_max_sockets = 1024; // beyond: close rejected sockets at once
inline constexpr std::size_t k_linger_max_bytes = 64 * 1024;
inline constexpr int k_hub_events = 64;

inline constexpr std::string_view k_ping = ": ping\n\n";
inline constexpr std::string_view k_last_chunk = "0\r\n\r\n";

// What a handler's open_stream() and then its content provider leave for the worker running the
// request: the stream reserved in the hub and, once the library has written the status line and
// headers into our stream and stopped (the provider returned false), the request to hand the
// socket over.
struct Hijack {
    uint64_t stream = 0; ///< reserved in the hub by open_stream(); 0 = none
    bool requested = false;
    std::string initial;
};
extern thread_local Hijack t_hijack;

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

} // namespace m::server::net
