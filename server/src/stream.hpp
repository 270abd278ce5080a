// The live stream's per-connection state and the per-user cap on open streams (internal to
// server/src; stream_routes.cpp).
#pragma once

#include "api.hpp"

#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

namespace m::server {

/// What a live stream carries along: whose it is and which DocTypes it wants.
struct StreamState {
    core::Principal who;
    std::set<std::string> doctypes; ///< empty = every DocType the user may read
    std::string session_id;         ///< the token's session; empty for an API key
    std::int64_t expires = 0;       ///< the token's expiry (unix seconds); 0 = none
    std::function<void()> release;  ///< gives back the user's stream slot
    ~StreamState() {
        if (release) release();
    }
};

/// Open live streams per user (server.max_streams_per_user), so one account cannot fill the
/// server's connections.
class StreamSlots {
public:
    explicit StreamSlots(std::size_t max) : m_max(max) {}
    /// Takes a slot or throws Error{rate_limited}.
    void take(const std::string& user);
    void give_back(const std::string& user);

private:
    std::size_t m_max;
    std::mutex m_mutex;
    std::unordered_map<std::string, std::size_t> m_open;
};

/// Sends an event to every stream that may see it, and ends the streams of a revoked session or
/// of a changed user's API keys (runs under the bus's lock).
void push_event(Api& api, const core::DocEvent& e);
/// Whether a stream's expiry has passed (the hub asks on its tick).
bool stream_expired(void* state);

} // namespace m::server
