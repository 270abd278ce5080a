#include "m/core/error.hpp"
#include "m/core/pool.hpp"
#include "m/core/service.hpp"

#include <catch2/catch.hpp>

#include <thread>

namespace {

class FakeService : public m::core::Service {
public:
    FakeService(std::string name, std::vector<std::string>& log, bool fail = false)
        : m_name(std::move(name)), m_log(log), m_fail(fail) {}
    std::string service_name() const override { return m_name; }
    void start() override {
        if (m_fail) throw m::core::Error(m::core::ErrorKind::unavailable, m_name + " down");
        m_log.push_back("start " + m_name);
    }
    void stop() noexcept override { m_log.push_back("stop " + m_name); }
    void check() override {}

private:
    std::string m_name;
    std::vector<std::string>& m_log;
    bool m_fail;
};

} // namespace

TEST_CASE("services start in order and stop in reverse", "[container]") {
    std::vector<std::string> log;
    {
        m::core::Container c;
        c.add(std::make_unique<FakeService>("db", log));
        c.add(std::make_unique<FakeService>("queue", log));
        c.start();
    }
    CHECK(log == std::vector<std::string>{"start db", "start queue", "stop queue", "stop db"});
}

TEST_CASE("a failing start stops what already started", "[container]") {
    std::vector<std::string> log;
    m::core::Container c;
    c.add(std::make_unique<FakeService>("db", log));
    c.add(std::make_unique<FakeService>("queue", log, true));
    CHECK_THROWS_WITH(c.start(), "queue down");
    CHECK(log == std::vector<std::string>{"start db", "stop db"});
    c.stop();
    CHECK(log.size() == 2);
}

TEST_CASE("the pool reuses healthy connections and replaces broken ones", "[pool]") {
    int made = 0;
    m::core::Pool<int> pool(2, [&] { return std::make_unique<int>(++made); });
    auto a = pool.acquire();
    auto b = pool.acquire();
    CHECK(made == 2);
    pool.release(std::move(a), true);
    auto c = pool.acquire();
    CHECK(*c == 1);
    pool.release(std::move(b), false); // broken: dropped
    auto d = pool.acquire();
    CHECK(*d == 3);
    // The pool blocks at its maximum until a release.
    std::thread t([&] {
        auto e = pool.acquire();
        CHECK(e != nullptr);
        pool.release(std::move(e), true);
    });
    pool.release(std::move(c), true);
    t.join();
    CHECK(pool.open_count() == 2);
}
