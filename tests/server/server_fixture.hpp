// A running `m serve` on a temp project, as a user would start it: a project with a small app
// (Customer, an RLS-protected Note, a submittable Order with child rows), migrated, with users
// created through `m user create`, and the server started as a child process on a free port.
#pragma once

#include "project_fixture.hpp"

#include <httplib.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <mutex>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace m::test {

inline constexpr const char* k_test_secret = "test-secret-key-0123456789abcdef";
inline constexpr const char* k_password = "correct-horse-battery";

/// The test app's DocTypes.
inline void add_server_app(const Project& p) {
    REQUIRE_EXIT(p.m({"new", "app", "shop"}), 0);
    auto doctype = [&](const std::string& snake, const json& j) {
        write_file(p.doctype_file("shop", snake), j.dump(2));
    };
    doctype("customer", json::parse(R"({"name": "Customer", "naming_rule": "field:customer_name",
      "fields": [{"name": "customer_name", "type": "data", "required": true, "in_list_view": true},
                 {"name": "credit_limit", "type": "decimal", "min": 0},
                 {"name": "status", "type": "select", "options": ["Active", "Blocked"],
                  "default": "Active"}],
      "permissions": {"read": ["Sales User"], "write": ["Sales User"], "create": ["Sales User"],
                      "delete": ["Sales User"]}})"));
    doctype("note", json::parse(R"({"name": "Note", "apply_rls": true,
      "fields": [{"name": "title", "type": "data", "required": true}],
      "permissions": {"read": ["Staff"], "write": ["Staff"], "create": ["Staff"],
                      "delete": ["Staff"]}})"));
    doctype("order_item", json::parse(R"({"name": "Order Item", "is_child_table": true,
      "fields": [{"name": "item", "type": "data", "required": true},
                 {"name": "qty", "type": "int", "min": 1}]})"));
    doctype("order", json::parse(R"({"name": "Order", "is_submittable": true, "track_changes": true,
      "naming_rule": "series:ORD-.#####",
      "fields": [{"name": "customer", "type": "link", "options": "Customer", "required": true},
                 {"name": "items", "type": "table", "options": "Order Item"},
                 {"name": "remark", "type": "data", "allow_on_submit": true}],
      "permissions": {"read": ["Sales User"], "write": ["Sales User"], "create": ["Sales User"],
                      "submit": ["Sales User"], "cancel": ["Sales User"]}})"));
}

/// A `m serve` child process. SIGTERM on destruction.
class Server {
public:
    /// Starts `m serve --port 0` in the project and waits for its "listening on" line.
    /// `binary`: another m than the build's (an installed copy).
    Server(const Project& p, const std::map<std::string, std::string>& extra = {},
           const std::string& binary = M_BINARY) {
        m_log = p.parent() / fmt_name("serve", ".log");
        std::map<std::string, std::string> env = p.env();
        env["M_SECRET_KEY"] = k_test_secret;
        for (const auto& [k, v] : extra) env[k] = v;
        std::string cmd = "cd " + shell_quote(p.root().string()) +
                          " && exec env -u DATABASE_URL -u M_PROJECT -u INSTALLED_APPS";
        for (const auto& [k, v] : env) cmd += " " + shell_quote(k + "=" + v);
        cmd += " " + shell_quote(binary) + " serve --port 0 --threads 4 2> " +
               shell_quote(m_log.string()) + " > /dev/null";
        m_pid = fork();
        REQUIRE(m_pid >= 0);
        if (m_pid == 0) {
            execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (std::chrono::steady_clock::now() < deadline) {
            std::string text = read_file(m_log);
            auto at = text.find("listening on http://");
            if (at != std::string::npos) {
                auto colon = text.find(':', at + 20);
                m_port = std::stoi(text.substr(colon + 1));
                return;
            }
            int status = 0;
            if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
                m_pid = -1;
                FAIL("m serve exited early:\n" << text);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        FAIL("m serve did not start within 60 s:\n" << read_file(m_log));
    }

    ~Server() { stop(); }

    /// SIGTERM; returns the exit code (or 128+signal) and how long the exit took.
    std::pair<int, double> stop(int sig = SIGTERM) {
        if (m_pid <= 0) return {m_exit, 0};
        auto start = std::chrono::steady_clock::now();
        kill(m_pid, sig);
        int status = 0;
        for (int i = 0; i < 200; ++i) { // 10 s, then SIGKILL
            if (waitpid(m_pid, &status, WNOHANG) == m_pid) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            if (i == 199) {
                kill(m_pid, SIGKILL);
                waitpid(m_pid, &status, 0);
            }
        }
        m_pid = -1;
        m_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return {m_exit,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
    }

    int port() const { return m_port; }
    std::string log() const { return read_file(m_log); }

    httplib::Client client() const {
        httplib::Client c("127.0.0.1", m_port);
        c.set_read_timeout(30, 0);
        c.set_connection_timeout(5, 0);
        return c;
    }

private:
    static std::string fmt_name(const std::string& stem, const std::string& ext) {
        static int n = 0;
        return stem + std::to_string(getpid()) + "-" + std::to_string(++n) + ext;
    }

    pid_t m_pid = -1;
    int m_port = 0;
    int m_exit = -1;
    fs::path m_log;
};

/// Logs `email` in (password k_password) and returns the access token.
/// Logs `email` in (password k_password): the access and the refresh token.
struct Tokens {
    std::string access;
    std::string refresh;
};
inline Tokens login_tokens(const Server& server, const std::string& email) {
    auto c = server.client();
    auto r = c.Post("/api/v1/auth/login", json{{"email", email}, {"password", k_password}}.dump(),
                    "application/json");
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
    const json body = json::parse(r->body);
    return {body.at("access_token").get<std::string>(),
            body.at("refresh_token").get<std::string>()};
}

inline std::string login(const Server& server, const std::string& email) {
    return login_tokens(server, email).access;
}

/// A project with the test app, migrated, with users:
///   admin@test (Admin), alice@test and bob@test (Staff, Sales User), carol@test (no role).
struct ServedProject {
    Project project;
    std::unique_ptr<Server> server;

    /// `more` adds to the project before it is migrated (DocTypes of a test's own).
    explicit ServedProject(const std::string& kind,
                           const std::map<std::string, std::string>& env = {},
                           const std::function<void(const Project&)>& more = {})
        : project(kind) {
        add_server_app(project);
        if (more) more(project);
        REQUIRE_EXIT(project.m({"migrate"}), 0);
        REQUIRE_EXIT(
            project.m({"user", "create", "admin@test", "--role", "Admin", "--password-stdin"},
                      std::string(k_password) + "\n"),
            0);
        for (const char* u : {"alice@test", "bob@test"}) {
            REQUIRE_EXIT(project.m({"user", "create", u, "--role", "Staff", "--role", "Sales User",
                                    "--password-stdin"},
                                   k_password),
                         0);
        }
        REQUIRE_EXIT(project.m({"user", "create", "carol@test", "--password-stdin"}, k_password),
                     0);
        server = std::make_unique<Server>(project, env);
    }

    /// Logs in and returns the access token.
    std::string token(const std::string& email) const { return login(*server, email); }
};

inline httplib::Headers bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
}

/// The body of a response as JSON (fails the test when it is not).
inline json body_of(const httplib::Result& r) {
    REQUIRE(r);
    INFO("status " << r->status << " body: " << r->body);
    json j = json::parse(r->body, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
}

/// Asserts an HTTP status and, for errors, the error shape of docs/reference/http-api.md, "Errors".
#define REQUIRE_STATUS(result, code)                                                               \
    do {                                                                                           \
        const auto& rr_ = (result);                                                                \
        REQUIRE(rr_);                                                                              \
        INFO("status " << rr_->status << " body: " << rr_->body);                                  \
        REQUIRE(rr_->status == (code));                                                            \
        if ((code) >= 400) {                                                                       \
            json e_ = json::parse(rr_->body, nullptr, false);                                      \
            REQUIRE(e_.is_object());                                                               \
            REQUIRE(e_.contains("error"));                                                         \
            REQUIRE(e_.contains("message"));                                                       \
            REQUIRE(e_.contains("details"));                                                       \
        }                                                                                          \
    } while (false)

/// Percent-encodes a query value or path segment.
inline std::string url_encode(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

/// Creates a document through the API (fails the test unless it is 201) and returns it.
inline json create(httplib::Client& c, const std::string& token, const std::string& doctype,
                   const json& body) {
    auto r = c.Post(("/api/v1/" + url_encode(doctype)).c_str(), bearer(token), body.dump(),
                    "application/json");
    REQUIRE_STATUS(r, 201);
    return json::parse(r->body);
}

/// Reads a live stream on its own connection and collects its events.
class StreamReader {
public:
    StreamReader(int port, const std::string& token, const std::string& last_event_id = "")
        : m_client("127.0.0.1", port) {
        m_client.set_read_timeout(30, 0);
        httplib::Headers h = bearer(token);
        if (!last_event_id.empty()) h.emplace("Last-Event-ID", last_event_id);
        m_thread = std::thread([this, h] {
            m_client.Get(
                "/api/v1/stream", h,
                [this](const httplib::Response& res) {
                    m_status = res.status;
                    return true;
                },
                [this](const char* data, size_t n) {
                    std::lock_guard lock(m_mutex);
                    m_text.append(data, n);
                    return !m_stop;
                });
        });
        wait_for(": connected");
    }
    ~StreamReader() {
        m_stop = true;
        m_client.stop();
        m_thread.join();
    }

    std::string text() {
        std::lock_guard lock(m_mutex);
        return m_text;
    }

    /// Waits until the stream's text contains `needle` (10 s at most).
    bool wait_for(const std::string& needle) {
        for (int i = 0; i < 200; ++i) {
            if (text().find(needle) != std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    }

    int status() const { return m_status; }

private:
    httplib::Client m_client;
    std::thread m_thread;
    std::mutex m_mutex;
    std::string m_text;
    std::atomic<bool> m_stop{false};
    std::atomic<int> m_status{0};
};

} // namespace m::test
