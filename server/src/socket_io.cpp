#include "socket_io.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

namespace m::server::net {

namespace {

constexpr std::string_view k_unavailable_body =
    R"({"error":"Unavailable","message":"server at connection limit"})";

} // namespace

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string direct_response(int status, std::string_view reason, std::string_view body,
                            std::string_view extra_headers) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                      "\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
                      "Connection: close\r\n";
    out += extra_headers;
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    out += body;
    return out;
}

const std::string& unavailable_response() {
    static const std::string response =
        direct_response(503, "Service Unavailable", k_unavailable_body, "Retry-After: 1\r\n");
    return response;
}

const char* reason_phrase(int status) {
    switch (status) {
    case 400:
        return "Bad Request";
    case 408:
        return "Request Timeout";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    default:
        return "Error";
    }
}

std::string refusal(int status, std::string_view message) {
    const char* name = status == 408 ? "Timeout" : "ValidationError";
    std::string body = R"({"error":")";
    body += name;
    body += R"(","message":")";
    for (char c : message) { // the framer's own messages, plus a method name of the request
        if (c == '"' || c == '\\') body += '\\';
        if (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f) {
            body += c;
        }
    }
    body += R"(","details":null})";
    return direct_response(status, reason_phrase(status), body);
}

void log_error(const char* where, const char* what) {
    std::fprintf(stderr, "m serve: %s: %s\n", where, what);
}

void block_signals_in_this_thread() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string frame_chunk(std::string_view data) {
    char head[24];
    const int n = std::snprintf(head, sizeof head, "%zx\r\n", data.size());
    std::string out;
    out.reserve(static_cast<std::size_t>(n) + data.size() + 2);
    out.append(head, static_cast<std::size_t>(n));
    out.append(data);
    out.append("\r\n");
    return out;
}

bool send_all(int fd, std::string_view first, std::string_view second) {
    iovec iov[2];
    std::size_t count = 0;
    for (std::string_view part : {first, second}) {
        if (part.empty()) continue;
        iov[count].iov_base = const_cast<char*>(part.data());
        iov[count].iov_len = part.size();
        ++count;
    }
    std::size_t index = 0;
    while (index < count) {
        msghdr msg{};
        msg.msg_iov = iov + index;
        msg.msg_iovlen = count - index;
        const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        auto sent = static_cast<std::size_t>(n);
        while (index < count && sent >= iov[index].iov_len) sent -= iov[index++].iov_len;
        if (index < count) {
            iov[index].iov_base = static_cast<char*>(iov[index].iov_base) + sent;
            iov[index].iov_len -= sent;
        }
    }
    return true;
}

ssize_t send_some(int fd, std::string_view data) {
    for (;;) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return -1;
    }
}

void socket_address(int fd, bool peer, std::string& ip, int& port) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    auto* sa = reinterpret_cast<sockaddr*>(&addr);
    if ((peer ? ::getpeername(fd, sa, &len) : ::getsockname(fd, sa, &len)) != 0) return;
    char host[NI_MAXHOST];
    if (::getnameinfo(sa, len, host, sizeof host, nullptr, 0, NI_NUMERICHOST) == 0) ip = host;
    if (addr.ss_family == AF_INET) {
        port = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    } else if (addr.ss_family == AF_INET6) {
        port = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    }
}

void raise_fd_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit); // best effort: the cap still answers 503 when it fails
}

} // namespace m::server::net
