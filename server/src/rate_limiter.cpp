#include "m/server/rate_limiter.hpp"

#include "m/core/error.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace m::server {

namespace {

using Events = std::deque<RateLimiter::Clock::time_point>;
using EventMap = std::unordered_map<std::string, Events>;

// Keys are client addresses and account names, so an attacker chooses how many there are; the map
// is capped. Eviction goes down to 90% of the cap so that its O(keys) sweep runs at most once per
// 10,000 new keys.
constexpr std::size_t k_max_keys = 100'000;
constexpr std::size_t k_keys_after_eviction = k_max_keys / 10 * 9;

/// Makes room in a full map: drops keys whose window is empty, then, if still over the target,
/// the keys whose latest event is oldest (the least recently active ones).
void evict(EventMap& map, RateLimiter::Clock::time_point cutoff) {
    std::erase_if(map, [&](const auto& entry) {
        return entry.second.empty() || entry.second.back() <= cutoff;
    });
    if (map.size() <= k_keys_after_eviction) return;
    std::vector<std::pair<RateLimiter::Clock::time_point, EventMap::iterator>> by_age;
    by_age.reserve(map.size());
    for (auto it = map.begin(); it != map.end(); ++it) by_age.emplace_back(it->second.back(), it);
    const auto excess = static_cast<std::ptrdiff_t>(map.size() - k_keys_after_eviction);
    std::nth_element(by_age.begin(), by_age.begin() + excess, by_age.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    // Erasing from an unordered_map invalidates only the erased iterators.
    for (auto it = by_age.begin(); it != by_age.begin() + excess; ++it) map.erase(it->second);
}

} // namespace

RateLimiter::RateLimiter(std::size_t max_events, std::chrono::seconds window)
    : m_max(max_events), m_window(window) {
    if (max_events == 0) {
        throw core::Error(core::ErrorKind::validation,
                          "rate limiter: max_events must be at least 1");
    }
    if (window <= std::chrono::seconds::zero()) {
        throw core::Error(core::ErrorKind::validation, "rate limiter: window must be positive");
    }
}

bool RateLimiter::allow(const std::string& key, Clock::time_point now) {
    std::lock_guard lock(m_mutex);
    auto it = m_events.find(key);
    if (it == m_events.end()) {
        if (m_events.size() >= k_max_keys) evict(m_events, now - m_window);
        it = m_events.try_emplace(key).first;
    }
    auto& events = it->second;
    prune(events, now);
    if (events.size() >= m_max) return false;
    // `now` is usually read before the lock is taken, so concurrent callers may arrive slightly
    // out of order; a sorted insert (almost always at the back) keeps pruning from the front
    // correct.
    events.insert(std::upper_bound(events.begin(), events.end(), now), now);
    return true;
}

long long RateLimiter::backoff(const std::string& key, std::size_t free,
                               Clock::time_point now) const {
    std::lock_guard lock(m_mutex);
    auto it = m_events.find(key);
    if (it == m_events.end() || it->second.empty()) return 0;
    const auto& events = it->second;
    const auto live = std::upper_bound(events.begin(), events.end(), now - m_window);
    const auto count = static_cast<std::size_t>(events.end() - live);
    if (count < free) return 0;
    const std::size_t shift = std::min<std::size_t>(count - free, 20);
    const auto delay = std::min<std::chrono::seconds>(std::chrono::seconds(1LL << shift), m_window);
    const auto wait = std::chrono::ceil<std::chrono::seconds>(events.back() + delay - now).count();
    return std::max<long long>(0, wait);
}

long long RateLimiter::retry_after(const std::string& key, Clock::time_point now) const {
    std::lock_guard lock(m_mutex);
    auto it = m_events.find(key);
    if (it == m_events.end()) return 0;
    const auto& events = it->second;
    const auto live = std::upper_bound(events.begin(), events.end(), now - m_window);
    const auto count = static_cast<std::size_t>(events.end() - live);
    if (count < m_max) return 0;
    // The key may try again once enough of its live events have left the window that fewer than
    // m_max remain: when the (count - m_max)-th live event expires.
    const auto expires = *(live + static_cast<std::ptrdiff_t>(count - m_max)) + m_window;
    const auto seconds = std::chrono::ceil<std::chrono::seconds>(expires - now).count();
    return std::max<long long>(seconds, 1);
}

void RateLimiter::reset(const std::string& key) {
    std::lock_guard lock(m_mutex);
    m_events.erase(key);
}

void RateLimiter::prune(std::deque<Clock::time_point>& events, Clock::time_point now) const {
    // An event at t counts while now - window < t.
    const auto cutoff = now - m_window;
    while (!events.empty() && events.front() <= cutoff) events.pop_front();
}

} // namespace m::server
