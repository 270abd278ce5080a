// A throwaway redis-server for the Redis tests: a child process on a free loopback port with
// no persistence, in its own temp dir (which also holds its log). Tests stop, kill, pause and
// restart it to prove that the adapters report a missing server clearly and heal afterwards.
//
// redis-server is found through $M_REDIS_SERVER, else PATH. When it is missing the tests are
// skipped with a warning, unless M_TEST_REQUIRE_REDIS=1 (CI), which makes them fail.
#pragma once

#include "support.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace m::test {

/// Path of redis-server ($M_REDIS_SERVER, else the first executable in PATH), or "" if none.
inline std::string find_redis_server() {
    if (const char* explicit_path = std::getenv("M_REDIS_SERVER");
        explicit_path && *explicit_path) {
        return explicit_path;
    }
    const char* path = std::getenv("PATH");
    if (!path) return "";
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (dir.empty()) continue;
        const std::filesystem::path candidate = std::filesystem::path(dir) / "redis-server";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return "";
}

/// A TCP port on 127.0.0.1 that nothing listens on right now (it may be taken before use).
inline int free_tcp_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("could not find a free port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

/// A redis-server child process. Not thread-safe (tests drive it from one thread).
class RedisServer {
public:
    /// Starts `binary` with `extra_args` appended (e.g. {"--requirepass", "pw"}) and waits until
    /// it answers. Throws std::runtime_error with the end of its log when it does not.
    explicit RedisServer(std::string binary, std::vector<std::string> extra_args = {})
        : m_binary(std::move(binary)), m_extra(std::move(extra_args)) {
        // The probed port can be taken before redis binds it: try a few.
        for (int attempt = 1;; ++attempt) {
            m_port = free_tcp_port();
            try {
                start();
                return;
            } catch (const std::runtime_error&) {
                if (attempt == 5 || m_log_tail.find("Address already in use") == std::string::npos)
                    throw;
            }
        }
    }

    ~RedisServer() { stop(); }
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    int port() const noexcept { return m_port; }

    /// redis://[:password@]127.0.0.1:<port>[/db]
    std::string url(const std::string& password = "", int db = 0) const {
        std::string out = "redis://";
        if (!password.empty()) out += ":" + password + "@";
        out += "127.0.0.1:" + std::to_string(m_port);
        if (db != 0) out += "/" + std::to_string(db);
        return out;
    }

    const std::filesystem::path& dir() const noexcept { return m_dir.path(); }
    bool running() const noexcept { return m_pid > 0; }

    /// SIGTERM and wait (SIGKILL after 5 s). Safe to call when stopped.
    void stop() { end(SIGTERM); }

    /// SIGKILL and wait: the server vanishes without closing anything cleanly.
    void kill() { end(SIGKILL); }

    /// SIGSTOP: the kernel still accepts connections, but nothing answers (a hung server).
    void pause() {
        if (m_pid > 0) ::kill(m_pid, SIGSTOP);
    }
    void resume() {
        if (m_pid > 0) ::kill(m_pid, SIGCONT);
    }

    /// Stops the server if running and starts it again on the same port (empty: no persistence).
    void restart() {
        stop();
        start();
    }

private:
    void start() {
        const std::string log = (m_dir.path() / "redis.log").string();
        std::vector<std::string> args{m_binary,
                                      "--port",
                                      std::to_string(m_port),
                                      "--bind",
                                      "127.0.0.1",
                                      "--save",
                                      "",
                                      "--appendonly",
                                      "no",
                                      "--dir",
                                      m_dir.path().string()};
        args.insert(args.end(), m_extra.begin(), m_extra.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);

        const pid_t pid = ::fork();
        if (pid < 0) throw std::runtime_error("fork() failed");
        if (pid == 0) {
            // The child: only async-signal-safe calls until exec. The server dies with the
            // test process, so a crashed test leaves no server behind.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            const int in = ::open("/dev/null", O_RDONLY);
            if (out >= 0) {
                ::dup2(out, STDOUT_FILENO);
                ::dup2(out, STDERR_FILENO);
            }
            if (in >= 0) ::dup2(in, STDIN_FILENO);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        m_pid = pid;
        wait_ready();
    }

    void wait_ready() {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
                m_pid = -1;
                fail("redis-server exited at start");
            }
            if (answers_ping()) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        end(SIGKILL);
        fail("redis-server did not answer within 5 s");
    }

    /// True when something on the port answers PING (+PONG, or -NOAUTH with requirepass).
    bool answers_ping() const {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) return false;
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<std::uint16_t>(m_port));
        bool ok = false;
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            ::send(fd, "PING\r\n", 6, MSG_NOSIGNAL) == 6) {
            pollfd p{fd, POLLIN, 0};
            char c = 0;
            ok = ::poll(&p, 1, 500) == 1 && ::recv(fd, &c, 1, 0) == 1 && (c == '+' || c == '-');
        }
        ::close(fd);
        return ok;
    }

    void end(int signal) {
        if (m_pid <= 0) return;
        ::kill(m_pid, SIGCONT); // a paused server cannot handle SIGTERM
        ::kill(m_pid, signal);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        int status = 0;
        while (::waitpid(m_pid, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(m_pid, SIGKILL);
                ::waitpid(m_pid, &status, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        m_pid = -1;
    }

    [[noreturn]] void fail(const std::string& what) {
        const std::string log = read_file(m_dir.path() / "redis.log");
        std::size_t from = log.size();
        for (int lines = 0; lines < 20 && from > 0; ++lines) {
            from = log.rfind('\n', from - 1);
            if (from == std::string::npos) {
                from = 0;
                break;
            }
        }
        m_log_tail = log.substr(from);
        throw std::runtime_error(what + " on port " + std::to_string(m_port) +
                                 "; end of its log:\n" + m_log_tail);
    }

    TempDir m_dir;
    std::string m_binary;
    std::vector<std::string> m_extra;
    int m_port = 0;
    pid_t m_pid = -1;
    std::string m_log_tail;
};

/// A started server, or nullptr after a Catch2 WARN when redis-server is missing (the caller
/// returns: the test is skipped). With M_TEST_REQUIRE_REDIS=1 a missing server fails the test.
inline std::unique_ptr<RedisServer> redis_or_skip(std::vector<std::string> extra_args = {}) {
    const std::string binary = find_redis_server();
    if (binary.empty()) {
        if (service_required("REDIS")) {
            FAIL("redis-server required (M_TEST_REQUIRE_REDIS=1) but not found in PATH "
                 "(or M_REDIS_SERVER)");
        }
        WARN("redis-server not found in PATH: Redis test skipped");
        return nullptr;
    }
    return std::make_unique<RedisServer>(binary, std::move(extra_args));
}

} // namespace m::test
