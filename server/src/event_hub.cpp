#include "event_hub.hpp"

#include "connection.hpp"
#include "socket_io.hpp"

#include "m/core/error.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace m::server::net {

EventHub::EventHub(const HttpOptions& options, std::atomic<std::size_t>& open_sockets)
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

EventHub::~EventHub() {
    stop();
    ::close(m_epoll);
    ::close(m_wake);
}

void EventHub::start(std::function<void()> on_tick) {
    std::lock_guard lock(m_mutex);
    m_on_tick = std::move(on_tick);
    m_running = true;
    m_thread = std::thread([this] { run(); });
}

void EventHub::stop() {
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

uint64_t EventHub::reserve(std::shared_ptr<void> state) {
    std::lock_guard lock(m_mutex);
    const uint64_t id = m_next_id++;
    Client& client = m_clients[id];
    client.kind = Kind::opening;
    client.state = std::move(state);
    return id;
}

void EventHub::cancel(uint64_t id) noexcept {
    std::vector<std::shared_ptr<void>> released;
    std::lock_guard lock(m_mutex);
    if (auto it = m_clients.find(id); it != m_clients.end()) close_client(it, released);
}

void EventHub::adopt(uint64_t id, int fd, std::string head) noexcept {
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

void EventHub::linger(int fd) noexcept {
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

void EventHub::publish(const std::function<std::string(void* state)>& render) {
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

void EventHub::close_streams(const std::function<bool(void* state)>& which) {
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

void EventHub::set_expiry(std::function<bool(void* state)> expired) {
    std::lock_guard lock(m_mutex);
    m_expired = std::move(expired);
}

bool EventHub::write(uint64_t id, Client& client, std::string_view data) {
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

bool EventHub::watch(uint64_t id, Client& client, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = id;
    return ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, client.fd, &ev) == 0;
}

void EventHub::forget(Client& client, std::vector<std::shared_ptr<void>>& released) {
    if (client.fd >= 0) ::close(client.fd);
    if (client.kind == Kind::stream) {
        --m_streams;
        --m_open_sockets;
    } else if (client.kind == Kind::lingering) {
        --m_lingering;
    }
    if (client.state) released.push_back(std::move(client.state));
}

EventHub::Clients::iterator EventHub::close_client(Clients::iterator it,
                                                   std::vector<std::shared_ptr<void>>& released) {
    forget(it->second, released);
    return m_clients.erase(it);
}

void EventHub::on_event(Clients::iterator it, uint32_t events,
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

void EventHub::on_writable(Clients::iterator it) {
    Client& client = it->second;
    if (client.kind != Kind::stream || client.pending.empty()) return;
    const ssize_t n = send_some(client.fd, client.pending);
    if (n < 0) return; // EPOLLERR/EPOLLHUP follows and closes it
    client.pending.erase(0, static_cast<std::size_t>(n));
    if (client.pending.empty()) watch(it->first, client, EPOLLIN | EPOLLRDHUP);
}

void EventHub::on_tick(int64_t now, bool ping, std::vector<std::shared_ptr<void>>& released) {
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

void EventHub::run() {
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

} // namespace m::server::net
