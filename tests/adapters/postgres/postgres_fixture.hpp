// What the PostgreSQL adapter tests share: the server URL (M_TEST_POSTGRES_URL, started by
// scripts/lib/postgres.sh; without it a test is skipped with a warning, unless
// M_TEST_REQUIRE_POSTGRES=1 makes that a failure), scratch databases dropped at the end, and
// small helpers.
#pragma once

#include "m/adapters/postgres/postgres_database.hpp"

#include "m/core/doctype.hpp"
#include "m/core/error.hpp"
#include "m/core/settings.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace pg = m::adapters::postgres;
using m::core::Error;
using m::core::ErrorKind;
using m::core::Field;
using m::core::FieldType;
using m::core::SqlParams;

namespace m::test::postgres_fixture {

/// The server URL, or nullopt after recording a skip (or a failure when a server is required).
inline std::optional<std::string> server_url() {
    const char* url = std::getenv("M_TEST_POSTGRES_URL");
    if (url != nullptr && *url != '\0') return std::string(url);
    if (m::test::service_required("POSTGRES")) {
        FAIL("PostgreSQL required but M_TEST_POSTGRES_URL unset");
    }
    WARN("M_TEST_POSTGRES_URL unset: PostgreSQL test skipped (see scripts/lib/postgres.sh)");
    SUCCEED();
    return std::nullopt;
}

/// `url` pointing at database `name` instead of its own.
inline std::string with_database(const std::string& url, const std::string& name) {
    const std::size_t authority = url.find("://") + 3;
    const std::size_t path = std::min(url.find_first_of("/?", authority), url.size());
    const std::size_t query = url.find('?', authority);
    return url.substr(0, path) + "/" + name +
           (query == std::string::npos ? std::string() : url.substr(query));
}

inline std::string random_suffix() {
    std::random_device device;
    std::ostringstream out;
    out << std::hex << device() << device();
    return out.str();
}

/// A port on 127.0.0.1 with nothing listening.
inline int unused_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    return ntohs(addr.sin_port);
}

/// A fresh database m_pg_adapter_<random> on the test server with a started PostgresDatabase
/// on it; both are dropped on destruction.
class ScratchDatabase {
public:
    explicit ScratchDatabase(const std::string& server_url, std::size_t pool_size = 4)
        : m_admin(server_url, 2), m_name("m_pg_adapter_" + random_suffix()) {
        m_admin.start();
        m_admin.session()->execute("CREATE DATABASE " + m_name);
        try {
            m_db = std::make_unique<pg::PostgresDatabase>(with_database(server_url, m_name),
                                                          pool_size);
            m_db->start();
        } catch (const std::exception&) {
            drop();
            throw;
        }
    }
    ~ScratchDatabase() { drop(); }
    ScratchDatabase(const ScratchDatabase&) = delete;
    ScratchDatabase& operator=(const ScratchDatabase&) = delete;

    pg::PostgresDatabase& db() { return *m_db; }
    /// A database on the server's own database, for what the scratch one cannot do itself.
    pg::PostgresDatabase& admin() { return m_admin; }

private:
    void drop() noexcept {
        if (m_db) {
            m_db->stop();
            m_db.reset();
        }
        try {
            m_admin.session()->execute("DROP DATABASE IF EXISTS " + m_name + " WITH (FORCE)");
        } catch (const std::exception& e) {
            std::fprintf(stderr, "warning: could not drop %s: %s\n", m_name.c_str(), e.what());
        }
        m_admin.stop();
    }

    pg::PostgresDatabase m_admin;
    std::string m_name;
    std::unique_ptr<pg::PostgresDatabase> m_db;
};

/// The single value of a one-row, one-column result.
inline std::optional<std::string> scalar(m::core::Session& session, const std::string& sql,
                                         const SqlParams& params = {}) {
    const auto rs = session.query(sql, params);
    REQUIRE(rs.size() == 1);
    REQUIRE(rs.rows[0].size() == 1);
    return rs.rows[0][0];
}

inline std::int64_t count_rows(m::core::Session& session, const std::string& table) {
    return std::stoll(scalar(session, "SELECT count(*) FROM " + table).value());
}

/// Runs `fn` and returns the Error it throws (fails the test if it throws nothing or else).
template <class Fn> Error error_of(Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e;
    }
    FAIL("expected an m::core::Error");
    throw std::logic_error("unreachable");
}

inline Field make_field(std::string name, FieldType type) {
    Field field;
    field.name = std::move(name);
    field.type = type;
    return field;
}

/// Terminates the backend `pid` from `admin` and waits until it is gone.
inline void kill_backend(pg::PostgresDatabase& admin, const std::string& pid) {
    auto session = admin.session();
    const SqlParams params{std::int64_t{std::stoll(pid)}};
    REQUIRE(scalar(*session, "SELECT pg_terminate_backend($1::int)", params) == "t");
    for (int i = 0; i < 200; ++i) {
        if (session->query("SELECT 1 FROM pg_stat_activity WHERE pid = $1::int", params).empty()) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("backend " << pid << " still alive after pg_terminate_backend");
}

} // namespace m::test::postgres_fixture
