// A throwaway nats-server with JetStream for tests: a child process on free loopback ports with
// its store in a temp folder, which can be stopped, killed and restarted on the same port and
// store (so persisted JetStream data survives, as it would in production).
//
// Tests call nats_or_skip(): without a nats-server binary the test is skipped with a warning,
// or fails when M_TEST_REQUIRE_NATS=1 (the test script sets it where NATS is installed).
#pragma once

#include "support.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace m::test {

/// The nats-server binary from PATH, else /usr/sbin; empty when there is none.
inline std::string find_nats_server() {
    std::vector<std::string> dirs;
    if (const char* path = std::getenv("PATH")) {
        std::string p(path);
        for (std::size_t start = 0;;) {
            auto end = p.find(':', start);
            dirs.push_back(p.substr(start, end - start));
            if (end == std::string::npos) break;
            start = end + 1;
        }
    }
    dirs.push_back("/usr/sbin");
    for (const auto& d : dirs) {
        if (d.empty()) continue;
        auto candidate = std::filesystem::path(d) / "nats-server";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return "";
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
inline int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot find a free port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

/// Whether something accepts connections on 127.0.0.1:port.
inline bool port_accepts(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
}

/// A nats-server child process (see the file comment). Not thread-safe.
class NatsServer {
public:
    /// Starts the server; throws std::runtime_error with the end of its log when it is not
    /// ready within 5 s.
    explicit NatsServer(std::string binary)
        : m_binary(std::move(binary)), m_port(free_loopback_port()),
          m_monitor_port(free_loopback_port()) {
        while (m_monitor_port == m_port) m_monitor_port = free_loopback_port();
        std::filesystem::create_directories(store_dir());
        start();
    }
    ~NatsServer() { stop(); }
    NatsServer(const NatsServer&) = delete;
    NatsServer& operator=(const NatsServer&) = delete;

    std::string url() const { return "nats://127.0.0.1:" + std::to_string(m_port); }
    int port() const noexcept { return m_port; }
    bool running() const noexcept { return m_pid > 0; }
    std::filesystem::path log_path() const { return m_dir.path() / "nats-server.log"; }
    std::filesystem::path store_dir() const { return m_dir.path() / "store"; }

    /// Stops the server gracefully (SIGTERM) and waits for it. Safe to call twice.
    void stop() noexcept { signal_and_wait(SIGTERM); }
    /// Kills the server (SIGKILL), as a crash or a power cut would.
    void kill() noexcept { signal_and_wait(SIGKILL); }
    /// Stops (if running) and starts again on the same port with the same store.
    void restart() {
        stop();
        start();
    }

    /// The last `lines` lines of the server's log.
    std::string log_tail(std::size_t lines = 20) const {
        std::string text = read_file(log_path());
        std::size_t pos = text.size();
        for (std::size_t n = 0; n <= lines && pos > 0; ++n) {
            pos = text.rfind('\n', pos - 1);
            if (pos == std::string::npos) return text;
        }
        return text.substr(pos + 1);
    }

    /// Starts the server if it is not running (see the constructor).
    void start() {
        if (m_pid > 0) return;
        std::vector<std::string> args{m_binary, "-js",
                                      "-a",     "127.0.0.1",
                                      "-p",     std::to_string(m_port),
                                      "-m",     std::to_string(m_monitor_port),
                                      "-sd",    store_dir().string()};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::string log = log_path().string();
        // A restart appends, so the log keeps every run; readiness is judged on this run only.
        std::size_t log_start =
            std::filesystem::exists(log_path())
                ? static_cast<std::size_t>(std::filesystem::file_size(log_path()))
                : 0;

        pid_t pid = ::fork();
        if (pid < 0) throw std::runtime_error("fork() failed");
        if (pid == 0) {
            // Only async-signal-safe calls between fork and exec (the parent has threads).
            ::prctl(PR_SET_PDEATHSIG, SIGKILL); // never outlive a crashed test
            int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                ::dup2(fd, 1);
                ::dup2(fd, 2);
                ::close(fd);
            }
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        m_pid = pid;

        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
                m_pid = -1;
                throw std::runtime_error("nats-server exited at start; end of its log:\n" +
                                         log_tail());
            }
            std::string text = read_file(log_path());
            bool ready = text.size() > log_start &&
                         text.find("Server is ready", log_start) != std::string::npos;
            if (ready && port_accepts(m_port)) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        kill();
        throw std::runtime_error("nats-server not ready within 5 s; end of its log:\n" +
                                 log_tail());
    }

private:
    void signal_and_wait(int sig) noexcept {
        if (m_pid <= 0) return;
        ::kill(m_pid, sig);
        int status = 0;
        while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
        }
        m_pid = -1;
    }

    TempDir m_dir;
    std::string m_binary;
    int m_port;
    int m_monitor_port;
    pid_t m_pid = -1;
};

/// A running NatsServer, or nullptr after a WARN when nats-server is not installed (FAIL when
/// M_TEST_REQUIRE_NATS=1). Usage: `auto nats = nats_or_skip(); if (!nats) return;`
inline std::unique_ptr<NatsServer> nats_or_skip() {
    std::string binary = find_nats_server();
    if (binary.empty()) {
        if (service_required("NATS"))
            FAIL("nats-server required (M_TEST_REQUIRE_NATS=1) but not found in PATH or /usr/sbin");
        WARN("nats-server not found in PATH or /usr/sbin: test skipped");
        return nullptr;
    }
    return std::make_unique<NatsServer>(binary);
}

} // namespace m::test
