// The httplib::Stream the transport hands to the library for one complete request (internal to
// server/src).
#pragma once

#include "connection.hpp"

#include <httplib.h>

namespace m::server::net {

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
    ssize_t read(char* ptr, size_t size) override;
    ssize_t write(const char* ptr, size_t size) override;
    void get_remote_ip_and_port(std::string& ip, int& port) const override;
    void get_local_ip_and_port(std::string& ip, int& port) const override;
    socket_t socket() const override { return m_conn.fd; }

    /// Sends what is held. False when the connection failed.
    bool flush();
    /// What is held and not sent yet (handed to the hub with a hijacked stream).
    std::string take_unsent();

private:
    void load_addresses() const;

    Conn& m_conn;
    WorkerBuffers& m_buffers;
    std::string_view m_request;
    bool m_hold = true;
    bool m_ok = true;
};

} // namespace m::server::net
