#include "buffered_stream.hpp"

#include "socket_io.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace m::server::net {

ssize_t BufferedStream::read(char* ptr, size_t size) {
    const std::size_t n = std::min(size, m_request.size());
    std::memcpy(ptr, m_request.data(), n);
    m_request.remove_prefix(n);
    return static_cast<ssize_t>(n);
}

ssize_t BufferedStream::write(const char* ptr, size_t size) {
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

void BufferedStream::get_remote_ip_and_port(std::string& ip, int& port) const {
    load_addresses();
    ip = m_conn.remote_ip;
    port = m_conn.remote_port;
}

void BufferedStream::get_local_ip_and_port(std::string& ip, int& port) const {
    load_addresses();
    ip = m_conn.local_ip;
    port = m_conn.local_port;
}

bool BufferedStream::flush() {
    if (m_ok && !m_buffers.out.empty()) m_ok = send_all(m_conn.fd, m_buffers.out);
    m_buffers.out.clear();
    return m_ok;
}

std::string BufferedStream::take_unsent() {
    return std::exchange(m_buffers.out, std::string());
}

void BufferedStream::load_addresses() const {
    if (m_conn.addresses_known) return;
    socket_address(m_conn.fd, true, m_conn.remote_ip, m_conn.remote_port);
    socket_address(m_conn.fd, false, m_conn.local_ip, m_conn.local_port);
    m_conn.addresses_known = true;
}

} // namespace m::server::net
