// Test support for the HTTP transport tests: a TestServer (an HttpServer on a free loopback port
// with a few routes, listening in a thread of its own) and a RawClient (a plain TCP client for
// what httplib::Client cannot do: pipelining, holding thousands of connections, sending a request
// byte by byte, reading a stream).
#pragma once

#include "m/core/error.hpp"
#include "m/server/http_server.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace m::test::http {

using m::server::HttpOptions;
using m::server::HttpServer;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A server on 127.0.0.1, any free port, listening in a thread of its own, with a few routes:
// /hello, /peer (the client's port), /echo?n=, POST /size, /events?id= (a live stream whose
// state is the id) and /throw.
class TestServer {
public:
    explicit TestServer(HttpOptions options,
                        const std::function<void(httplib::Server&)>& more_routes = {})
        : m_server(with_loopback(std::move(options))) {
        auto& r = m_server.routes();
        r.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(R"({"hello":"world"})", "application/json");
        });
        r.Get("/peer", [](const httplib::Request& req, httplib::Response& res) {
            res.set_content(std::to_string(req.remote_port), "text/plain");
        });
        r.Get("/echo", [](const httplib::Request& req, httplib::Response& res) {
            res.set_content(req.get_param_value("n"), "text/plain");
        });
        r.Post("/size", [](const httplib::Request& req, httplib::Response& res) {
            res.set_content(std::to_string(req.body.size()), "text/plain");
        });
        r.Get("/events", [this](const httplib::Request& req, httplib::Response& res) {
            m_server.open_stream(res, "retry: 1000\n\n",
                                 std::make_shared<int>(std::stoi(req.get_param_value("id"))));
        });
        r.Get("/events-early", [this](const httplib::Request&, httplib::Response& res) {
            // Something is published after open_stream() and before the handler returns.
            m_server.open_stream(res, "retry: 1000\n\n", std::make_shared<int>(0));
            m_server.publish([](void*) { return std::string("data: early\n\n"); });
        });
        r.Get("/throw", [](const httplib::Request&, httplib::Response&) {
            throw std::runtime_error("boom");
        });
        r.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
            ++m_slow_started;
            std::this_thread::sleep_for(300ms);
            res.set_content("done", "text/plain");
        });
        r.Get("/big", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(std::string(1 << 20, 'b'), "application/octet-stream");
        });
        r.Get("/ticks", [](const httplib::Request&, httplib::Response& res) {
            // An ordinary (not hijacked) chunked stream: one chunk every 200 ms, on the worker.
            res.set_chunked_content_provider("application/octet-stream",
                                             [](size_t offset, httplib::DataSink& sink) {
                                                 if (offset >= 3) {
                                                     sink.done();
                                                     return true;
                                                 }
                                                 if (offset > 0) std::this_thread::sleep_for(200ms);
                                                 return sink.write("t", 1);
                                             });
        });
        if (more_routes) more_routes(r);
        m_server.bind();
        m_listening = std::async(std::launch::async, [this] {
            std::string error;
            try {
                m_server.listen();
            } catch (const std::exception& e) {
                error = e.what();
            }
            return error;
        });
    }

    ~TestServer() {
        m_server.stop();
        if (m_listening.valid()) m_listening.wait();
    }

    HttpServer& server() { return m_server; }
    /// How many /slow requests have entered their handler.
    int slow_started() const { return m_slow_started.load(); }
    int port() const { return m_server.port(); }

    /// Stops and waits up to `limit` for listen() to return; true when it did, without error.
    bool stop_within(std::chrono::milliseconds limit) {
        std::thread stopper([this] { m_server.stop(); }); // stop() from another thread
        stopper.join();
        if (m_listening.wait_for(limit) != std::future_status::ready) return false;
        return m_listening.get().empty();
    }

private:
    static HttpOptions with_loopback(HttpOptions options) {
        options.host = "127.0.0.1";
        options.port = 0;
        return options;
    }

    std::atomic<int> m_slow_started{0};
    HttpServer m_server;
    std::future<std::string> m_listening;
};

inline HttpOptions small_options() {
    HttpOptions options;
    options.workers = 4;
    return options;
}

struct RawResponse {
    int status = 0;
    std::string head; ///< status line and headers
    std::string body;
};

// A plain TCP client, for what httplib::Client cannot do: pipelining, holding thousands of
// connections, reading a stream byte by byte.
class RawClient {
public:
    explicit RawClient(int port, int receive_buffer = 0) {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (receive_buffer > 0) {
            ::setsockopt(m_fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        }
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) close();
    }
    ~RawClient() { close(); }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    bool connected() const { return m_fd >= 0; }

    bool send(std::string_view data) {
        while (m_fd >= 0 && !data.empty()) {
            const ssize_t n = ::send(m_fd, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return m_fd >= 0;
    }

    bool get(const std::string& target, const std::string& extra_headers = "") {
        return send("GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n");
    }

    /// Reads until `needle` is in what was received (from `from` on), EOF or the timeout.
    bool read_until(std::string_view needle, std::chrono::milliseconds timeout,
                    std::size_t from = 0) {
        const auto deadline = Clock::now() + timeout;
        while (m_data.find(needle, from) == std::string::npos) {
            if (!read_some(deadline)) return false;
        }
        return true;
    }

    /// Reads until the server closes the connection (true) or the timeout (false).
    bool wait_closed(std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        while (!m_eof) {
            if (!read_some(deadline) && !m_eof) return false;
        }
        return true;
    }

    /// One response with a Content-Length body, taken off the front of what was received.
    std::optional<RawResponse> read_response(std::chrono::milliseconds timeout = 5s) {
        if (!read_until("\r\n\r\n", timeout)) return std::nullopt;
        const auto head_end = m_data.find("\r\n\r\n") + 4;
        RawResponse response;
        response.head = m_data.substr(0, head_end);
        response.status = std::stoi(response.head.substr(9, 3));
        std::size_t length = 0;
        if (const auto at = response.head.find("Content-Length: "); at != std::string::npos) {
            length = std::stoul(response.head.substr(at + 16));
        }
        const auto deadline = Clock::now() + timeout;
        while (m_data.size() < head_end + length) {
            if (!read_some(deadline)) return std::nullopt;
        }
        response.body = m_data.substr(head_end, length);
        m_data.erase(0, head_end + length);
        return response;
    }

    std::string& data() { return m_data; }

    void close() {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = -1;
    }

private:
    bool read_some(Clock::time_point deadline) {
        if (m_fd < 0 || m_eof) return false;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        pollfd p{m_fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char buf[16384];
        const ssize_t n = ::recv(m_fd, buf, sizeof buf, 0);
        if (n <= 0) {
            m_eof = true;
            return false;
        }
        m_data.append(buf, static_cast<std::size_t>(n));
        return true;
    }

    int m_fd = -1;
    bool m_eof = false;
    std::string m_data;
};

inline std::string chunk(const std::string& data) {
    char head[24];
    std::snprintf(head, sizeof head, "%zx\r\n", data.size());
    return head + data + "\r\n";
}

// Opens a stream and waits for its headers and first chunk.
inline std::unique_ptr<RawClient> open_stream(int port, int id, const std::string& extra = "") {
    auto client = std::make_unique<RawClient>(port);
    if (!client->get("/events?id=" + std::to_string(id), extra) ||
        !client->read_until(chunk("retry: 1000\n\n"), 5s)) {
        return nullptr;
    }
    return client;
}

template <typename Predicate> bool eventually(Predicate done, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!done()) {
        if (Clock::now() > deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

inline std::string render_all(void*) {
    return "data: hello\n\n";
}

} // namespace m::test::http
