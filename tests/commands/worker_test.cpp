// Black-box runs of `m worker` and `m job` (docs/reference/jobs-events.md) as a user runs them: an
// app with jobs built by `m build`, workers started and stopped with signals, on every queue this
// machine has — the project database (SQLite, PostgreSQL) and NATS JetStream (with job status in
// the database or in Redis), the servers started by the tests themselves.
#include "nats_server.hpp"
#include "project_fixture.hpp"
#include "redis_server.hpp"

#include <csignal>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace m::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* k_jobs_cpp = R"(#include <m/app.hpp>

#include <chrono>
#include <thread>

namespace {
m::Json sleep_job(const m::Json& kwargs, m::JobContext& ctx) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(kwargs.value("ms", 0));
    while (std::chrono::steady_clock::now() < end && !ctx.cancelled) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return m::Json{{"slept", kwargs.value("ms", 0)}, {"attempt", ctx.attempt}};
}
m::Json fail_job(const m::Json& kwargs, m::JobContext&) {
    throw m::Error(m::ErrorKind::validation, "refused: " + kwargs.value("why", std::string("no reason")));
}
} // namespace

M_JOBS(tasks) {
    registrar.job(m::JobDef{"tasks.sleep", 2, 30, "default", "", "sleeps kwargs.ms", sleep_job});
    registrar.job(m::JobDef{"tasks.fail", 1, 30, "default", "", "always fails", fail_job});
}
)";

/// Where the jobs of a test go: the project database, or NATS (status in the database or Redis).
struct Broker {
    std::string name;
    std::unique_ptr<NatsServer> nats;
    std::unique_ptr<RedisServer> redis;
    std::map<std::string, std::string> env;
};

std::vector<std::string> broker_kinds() {
    return {"database", "nats", "nats+redis"};
}

/// Starts what `kind` needs; nullptr when this machine cannot run it (and it is not required).
std::unique_ptr<Broker> make_broker(const std::string& kind) {
    auto b = std::make_unique<Broker>();
    b->name = kind;
    if (kind.rfind("nats", 0) == 0) {
        b->nats = nats_or_skip();
        if (!b->nats) return nullptr;
        b->env["NATS_URL"] = b->nats->url();
    }
    if (kind == "nats+redis") {
        b->redis = redis_or_skip();
        if (!b->redis) return nullptr;
        b->env["REDIS_URL"] = b->redis->url();
    }
    return b;
}

/// A project with the `tasks` app (jobs tasks.sleep and tasks.fail), built and migrated.
struct JobProject {
    Project project;
    std::unique_ptr<Broker> broker;
    std::map<std::string, std::string> env;

    JobProject(const std::string& db_kind, std::unique_ptr<Broker> b)
        : project(db_kind), broker(std::move(b)) {
        env = broker->env;
        env["M_JOB_LEASE"] = "2"; // a killed worker's job comes back after 2 s
        REQUIRE_EXIT(project.m({"new", "app", "tasks"}), 0);
        write_file(project.root() / "apps" / "tasks" / "jobs" / "tasks.cpp", k_jobs_cpp);
        REQUIRE_EXIT(project.m({"build"}), 0);
        REQUIRE_EXIT(project.m({"migrate"}), 0);
    }

    RunResult m(const std::vector<std::string>& args) const { return project.m(args, "", env); }

    std::string enqueue(const std::string& name, const std::string& kwargs) const {
        auto r = m({"job", "enqueue", name, "--kwargs", kwargs, "--json"});
        REQUIRE_EXIT(r, 0);
        return parse_json(r.out).at("id").get<std::string>();
    }

    json status(const std::string& id) const {
        auto r = m({"job", "status", id, "--json"});
        REQUIRE_EXIT(r, 0);
        return parse_json(r.out);
    }

    /// Polls until the job's status is `want` (or `within` passed); returns the last status.
    json wait_for(const std::string& id, const std::string& want,
                  std::chrono::milliseconds within = 20s) const {
        auto end = std::chrono::steady_clock::now() + within;
        json s = status(id);
        while (s.at("status") != want && std::chrono::steady_clock::now() < end) {
            std::this_thread::sleep_for(100ms);
            s = status(id);
        }
        return s;
    }
};

/// An `m worker` child process; SIGKILLed on destruction if still running.
class WorkerProcess {
public:
    WorkerProcess(const JobProject& p, const std::vector<std::string>& args = {}) {
        m_log = p.project.parent() / ("worker-" + std::to_string(++s_count) + ".log");
        std::map<std::string, std::string> env = p.project.env();
        for (const auto& [k, v] : p.env) env[k] = v;
        std::string cmd = "cd " + shell_quote(p.project.root().string()) +
                          " && exec env -u DATABASE_URL -u NATS_URL -u REDIS_URL -u M_PROJECT";
        for (const auto& [k, v] : env) cmd += " " + shell_quote(k + "=" + v);
        cmd += " " + shell_quote(M_BINARY) + " worker";
        for (const auto& a : args) cmd += " " + shell_quote(a);
        cmd += " 2> " + shell_quote(m_log.string()) + " > /dev/null";
        m_pid = fork();
        REQUIRE(m_pid >= 0);
        if (m_pid == 0) {
            execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
    }
    ~WorkerProcess() {
        if (m_pid > 0) stop(SIGKILL);
    }

    /// Sends `sig` and waits (up to 20 s); returns the exit code or 128 + signal.
    int stop(int sig = SIGTERM) {
        if (m_pid <= 0) return -1;
        kill(m_pid, sig);
        int status = 0;
        for (int i = 0; i < 400; ++i) {
            if (waitpid(m_pid, &status, WNOHANG) == m_pid) break;
            std::this_thread::sleep_for(50ms);
            if (i == 399) {
                kill(m_pid, SIGKILL);
                waitpid(m_pid, &status, 0);
            }
        }
        m_pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

    std::string log() const { return read_file(m_log); }

private:
    static inline int s_count = 0;
    pid_t m_pid = -1;
    fs::path m_log;
};

} // namespace

TEST_CASE("m worker runs jobs and stops gracefully on SIGTERM", "[worker]") {
    for (const auto& db : database_kinds()) {
        for (const auto& kind : broker_kinds()) {
            if (db == "postgres" && kind != "database") continue; // NATS runs on SQLite here
            DYNAMIC_SECTION(db << " + " << kind) {
                auto broker = make_broker(kind);
                if (!broker) continue;
                JobProject p(db, std::move(broker));

                // The registered jobs, with their retry counts and timeouts.
                auto list = p.m({"job", "list", "--json"});
                REQUIRE_EXIT(list, 0);
                auto jobs = parse_json(list.out);
                bool found = false;
                for (const auto& j : jobs) {
                    if (j["name"] == "tasks.sleep") {
                        found = true;
                        CHECK(j["retries"] == 2);
                        CHECK(j["timeout"] == 30);
                    }
                }
                CHECK(found);

                auto quick = p.enqueue("core.noop", R"({"hello": "world"})");
                CHECK(p.status(quick).at("status") == "PENDING");
                auto slow = p.enqueue("tasks.sleep", R"({"ms": 1500})");
                WorkerProcess w(p, {"--concurrency", "2"});
                auto done = p.wait_for(quick, "SUCCESS");
                CHECK(done.at("result") == json{{"hello", "world"}});
                CHECK(done.at("attempts") == 1);
                REQUIRE(p.wait_for(slow, "RUNNING").at("status") == "RUNNING");
                // SIGTERM while a job runs: it finishes, is recorded, and the worker exits 0.
                CHECK(w.stop(SIGTERM) == 0);
                INFO(w.log());
                auto s = p.status(slow);
                CHECK(s.at("status") == "SUCCESS");
                CHECK(s.at("result") == json{{"slept", 1500}, {"attempt", 1}});
            }
        }
    }
}

TEST_CASE("a job of a SIGKILLed worker is delivered again and runs once more", "[worker]") {
    for (const auto& kind : broker_kinds()) {
        DYNAMIC_SECTION(kind) {
            auto broker = make_broker(kind);
            if (!broker) continue;
            JobProject p("sqlite", std::move(broker));
            auto id = p.enqueue("tasks.sleep", R"({"ms": 3000})");
            {
                WorkerProcess doomed(p);
                REQUIRE(p.wait_for(id, "RUNNING").at("status") == "RUNNING");
                CHECK(doomed.stop(SIGKILL) == 128 + SIGKILL);
            }
            CHECK(p.status(id).at("status") == "RUNNING"); // nobody acknowledged it
            WorkerProcess rescuer(p);
            auto s = p.wait_for(id, "SUCCESS", 30s);
            INFO(rescuer.log());
            CHECK(s.at("status") == "SUCCESS");
            CHECK(s.at("attempts") == 2);
            CHECK(s.at("result").at("attempt") == 2);
        }
    }
}

TEST_CASE("a worker SIGKILLed holding 50 fetched jobs: after a restart each runs to SUCCESS, at "
          "most twice",
          "[worker]") {
    struct Setup {
        const char* db;
        const char* broker;
    };
    for (const Setup& setup :
         {Setup{"sqlite", "database"}, Setup{"postgres", "database"}, Setup{"sqlite", "nats"}}) {
        DYNAMIC_SECTION(setup.db << " + " << setup.broker) {
            const auto kinds = database_kinds(); // fails when PostgreSQL is required and missing
            if (std::string(setup.db) == "postgres" && kinds.size() < 2) continue;
            auto broker = make_broker(setup.broker);
            if (!broker) continue;
            JobProject p(setup.db, std::move(broker));
            std::vector<std::string> ids;
            for (int i = 0; i < 60; ++i) ids.push_back(p.enqueue("tasks.sleep", R"({"ms": 1500})"));
            auto running = [&] {
                auto r = p.m({"--json", "job", "recent", "--status", "RUNNING", "--limit", "100"});
                REQUIRE_EXIT(r, 0);
                return parse_json(r.out).size();
            };
            {
                // 25 slots: 25 jobs running and 25 fetched ahead, all leased to this worker.
                WorkerProcess doomed(p, {"--concurrency", "25"});
                const auto end = std::chrono::steady_clock::now() + 30s;
                std::size_t held = 0;
                while ((held = running()) < 50 && std::chrono::steady_clock::now() < end) {
                    std::this_thread::sleep_for(50ms);
                }
                INFO(doomed.log());
                REQUIRE(held >= 50);
                CHECK(doomed.stop(SIGKILL) == 128 + SIGKILL);
            }
            WorkerProcess rescuer(p, {"--concurrency", "25"});
            for (const auto& id : ids) {
                auto s = p.wait_for(id, "SUCCESS", 60s);
                INFO(id << ": " << s.dump() << "\n" << rescuer.log());
                REQUIRE(s.at("status") == "SUCCESS");
                CHECK(s.at("attempts").get<int>() <= 2);
                CHECK(s.at("result").at("attempt").get<int>() <= 2);
            }
        }
    }
}

TEST_CASE("failed jobs are retried then dead-lettered and m job retry runs them again",
          "[worker]") {
    for (const auto& kind : broker_kinds()) {
        DYNAMIC_SECTION(kind) {
            auto broker = make_broker(kind);
            if (!broker) continue;
            JobProject p("sqlite", std::move(broker));
            auto id = p.enqueue("tasks.fail", R"({"why": "no stock"})");
            WorkerProcess w(p);
            auto s = p.wait_for(id, "FAILED", 30s);
            INFO(w.log());
            REQUIRE(s.at("status") == "FAILED");
            CHECK(s.at("attempts") == 2); // 1 retry
            CHECK(s.at("error") == "refused: no stock");
            CHECK(contains(w.log(), "refused: no stock"));

            auto r = p.m({"job", "retry", id, "--json"});
            REQUIRE_EXIT(r, 0);
            CHECK(parse_json(r.out).at("status") == "PENDING");
            auto again = p.wait_for(id, "FAILED", 30s);
            CHECK(again.at("status") == "FAILED");
            CHECK(again.at("attempts") == 2);

            // Cancel: only a PENDING job; a cancelled job never runs.
            CHECK(w.stop() == 0);
            auto later = p.enqueue("core.noop", "{}");
            auto c = p.m({"job", "cancel", later});
            REQUIRE_EXIT(c, 0);
            CHECK(contains(c.out, "CANCELLED"));
            auto twice = p.m({"job", "cancel", later});
            CHECK(twice.exit_code != 0);
            CHECK(is_one_line(twice.err));
            CHECK(contains(twice.err, "is CANCELLED, not PENDING"));
            // A job enqueued after it runs; once that one is done, the cancelled one (ahead of it
            // in the queue) has had its chance and must still be CANCELLED.
            auto after = p.enqueue("core.noop", "{}");
            WorkerProcess w2(p);
            CHECK(p.wait_for(after, "SUCCESS", 30s).at("status") == "SUCCESS");
            CHECK(p.status(later).at("status") == "CANCELLED");
        }
    }
}

TEST_CASE("m job refuses bad input with one clear line", "[worker]") {
    Project project("sqlite");
    REQUIRE_EXIT(project.m({"migrate"}), 0);
    auto unknown = project.m({"job", "enqueue", "billing.nope"});
    CHECK(unknown.exit_code != 0);
    CHECK(is_one_line(unknown.err));
    CHECK(contains(unknown.err, "unknown job 'billing.nope' (registered: core.noop"));
    auto array = project.m({"job", "enqueue", "core.noop", "--kwargs", "[1, 2]"});
    CHECK(array.exit_code != 0);
    CHECK(is_one_line(array.err));
    CHECK(contains(array.err, "--kwargs must be a JSON object, not array"));
    auto broken = project.m({"job", "enqueue", "core.noop", "--kwargs", "{\"a\":"});
    CHECK(broken.exit_code != 0);
    CHECK(contains(broken.err, "--kwargs is not valid JSON"));
    auto missing = project.m({"job", "status", "no-such-id"});
    CHECK(missing.exit_code != 0);
    CHECK(is_one_line(missing.err));
    CHECK(contains(missing.err, "no job 'no-such-id'"));
    auto badq = project.m({"worker", "--queue", "nowhere"});
    CHECK(badq.exit_code != 0);
    CHECK(contains(badq.err, "no registered job uses queue 'nowhere'"));
    // Idempotent enqueue from the shell: the same --id twice is one job.
    auto a = project.m({"job", "enqueue", "core.noop", "--id", "nightly-2026-11-27"});
    auto b = project.m({"job", "enqueue", "core.noop", "--id", "nightly-2026-11-27"});
    REQUIRE_EXIT(a, 0);
    REQUIRE_EXIT(b, 0);
    auto recent = project.m({"job", "recent", "--json"});
    REQUIRE_EXIT(recent, 0);
    CHECK(parse_json(recent.out).size() == 1);
}

TEST_CASE("with Redis away the worker keeps running and status reports it clearly",
          "[worker][redis]") {
    auto broker = make_broker("nats+redis");
    if (!broker) return;
    RedisServer& redis = *broker->redis;
    JobProject p("sqlite", std::move(broker));
    auto id = p.enqueue("tasks.sleep", R"({"ms": 1000})");
    WorkerProcess w(p);
    REQUIRE(p.wait_for(id, "RUNNING").at("status") == "RUNNING");
    redis.pause();                       // hung, not gone: every command times out
    std::this_thread::sleep_for(1500ms); // the job finishes while its status cannot be written
    auto during = p.m({"job", "status", id});
    CHECK(during.exit_code != 0);
    CHECK(is_one_line(during.err));
    CHECK(contains(during.err, "Redis at"));
    auto enqueue = p.m({"job", "enqueue", "core.noop"});
    CHECK(enqueue.exit_code != 0);
    CHECK(contains(enqueue.err, "Redis at"));
    std::this_thread::sleep_for(1000ms);
    redis.resume();
    // Not acknowledged without its status: delivered again and recorded once Redis is back.
    auto s = p.wait_for(id, "SUCCESS", 30s);
    INFO(w.log());
    CHECK(s.at("status") == "SUCCESS");
    auto next = p.enqueue("core.noop", R"({"after": "redis"})");
    CHECK(p.wait_for(next, "SUCCESS").at("status") == "SUCCESS");
    CHECK(w.stop() == 0); // it never died
}

TEST_CASE("m doctor checks the job queue and the cache the settings name", "[worker]") {
    Project project("sqlite");
    REQUIRE_EXIT(project.m({"migrate"}), 0);
    auto find = [](const json& report, const std::string& name) {
        for (const auto& c : report.at("checks")) {
            if (c.at("check") == name) return c;
        }
        FAIL("no check named " << name << " in " << report.dump());
        return json();
    };
    auto ok = project.m({"doctor", "--json"});
    REQUIRE_EXIT(ok, 0);
    auto jobs = find(parse_json(ok.out), "jobs and cache");
    CHECK(jobs.at("ok") == true);
    CHECK(
        contains(jobs.at("detail").get<std::string>(), "job queue (database) and cache (memory)"));

    // A NATS server that is not there: the check fails and says which one.
    auto dead = project.m({"doctor", "--json"}, "", {{"NATS_URL", "nats://127.0.0.1:1"}});
    CHECK(dead.exit_code == 1);
    auto failed = find(parse_json(dead.out), "jobs and cache");
    CHECK(failed.at("ok") == false);
    CHECK(contains(failed.at("detail").get<std::string>(), "NATS at nats://127.0.0.1:1"));
}
