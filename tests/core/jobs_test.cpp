// Jobs on the embedded queue (SQLite and PostgreSQL): the JobQueue contract, the worker (retries,
// timeouts, threads that throw anything, graceful stop), the scheduler's once-per-tick rule,
// enqueue-after-commit from hooks, and the transactional outbox.
#include "job_queue_contract.hpp"
#include "support.hpp"

#include "m/core/controller.hpp"
#include "m/core/core_app.hpp"
#include "m/core/doctype_loader.hpp"
#include "m/core/document_service.hpp"
#include "m/core/error.hpp"
#include "m/core/jobs.hpp"
#include "m/core/outbox.hpp"
#include "m/core/worker.hpp"
#include "m/migrations/migrator.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

using m::core::JobState;
using m::core::Json;
using namespace std::chrono_literals;

namespace {

constexpr const char* k_note = R"({"name": "Note", "fields": [
    {"name": "title", "type": "data", "required": true},
    {"name": "owner_email", "type": "data"}],
  "apply_rls": true, "rls_field": "owner_email"})";

struct Fixture {
    m::test::TempDir dir;
    m::test::TestDatabase t;
    m::core::MetaRegistry meta;
    m::core::ControllerRegistry controllers;
    m::core::JobRegistry jobs;

    explicit Fixture(const std::string& kind) : t(m::test::make_database(kind, dir.path())) {
        meta.add(m::core::parse_doctype(nlohmann::json::parse(k_note), "note.json", "test"));
        meta.check_references();
        m::migrations::Migrator migrator(*t.db, meta, dir.path(), {});
        migrator.apply(migrator.plan(), false);
        m::core::register_builtin_jobs(jobs);
    }

    std::unique_ptr<m::core::JobQueue> queue(std::chrono::seconds lease = 30s) {
        auto q = m::core::make_database_job_queue(*t.db, lease);
        q->start();
        return q;
    }
};

/// Runs a worker on `queue` until `done()` or `within`, then stops it; returns its stats.
template <class Done>
m::core::WorkerStats run_worker(Fixture& f, m::core::JobQueue& queue, Done done,
                                std::chrono::milliseconds within,
                                m::core::WorkerOptions options = {}) {
    m::core::DocumentService docs(f.meta, *f.t.db, &f.controllers);
    std::atomic<bool> stop{false};
    m::core::WorkerStats stats;
    options.grace = options.grace == 30000ms ? 5000ms : options.grace;
    std::thread t([&] {
        m::core::Worker w(f.jobs, queue, *f.t.db, docs, nullptr, options);
        stats = w.run(stop);
    });
    auto end = std::chrono::steady_clock::now() + within;
    while (!done() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(20ms);
    stop = true;
    t.join();
    return stats;
}

m::core::JobDef job(const std::string& name, m::core::JobFn fn, int retries = 3, int timeout = 60) {
    m::core::JobDef def;
    def.name = name;
    def.retries = retries;
    def.timeout = timeout;
    def.fn = std::move(fn);
    return def;
}

} // namespace

TEST_CASE("the embedded queue keeps the JobQueue contract", "[jobs]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Fixture f(kind);
            m::test::check_job_queue_contract([&] { return f.queue(1s); }, 1000ms);
        }
    }
}

TEST_CASE("the job registry refuses bad registrations and names unknown jobs", "[jobs]") {
    m::core::JobRegistry r;
    auto fn = [](const Json& k, m::core::JobContext&) { return k; };
    CHECK_THROWS_WITH(r.add(job("bad name", fn)), Catch::Contains("letters, digits"));
    CHECK_THROWS_WITH(r.add(job("x.y", fn, -1)), Catch::Contains("retries must be 0-100"));
    CHECK_THROWS_WITH(r.add(job("x.y", fn, 3, 0)), Catch::Contains("timeout"));
    auto scheduled = job("x.cron", fn);
    scheduled.schedule = "61 * * * *";
    CHECK_THROWS_WITH(r.add(scheduled), Catch::Contains("job 'x.cron': cron '61 * * * *'"));
    r.add(job("x.y", fn));
    CHECK_THROWS_WITH(r.add(job("x.y", fn)), Catch::Contains("registered twice"));
    try {
        r.get("x.z");
        FAIL("an unknown job was found");
    } catch (const m::core::Error& e) {
        CHECK(e.kind() == m::core::ErrorKind::not_found);
        CHECK(std::string(e.what()) == "unknown job 'x.z' (registered: x.y)");
    }
}

TEST_CASE("the worker runs jobs on several threads and records every outcome", "[jobs]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Fixture f(kind);
            std::atomic<int> concurrent{0}, peak{0};
            f.jobs.add(job("t.sleepy", [&](const Json& k, m::core::JobContext& ctx) {
                int now = ++concurrent;
                int seen = peak.load();
                while (now > seen && !peak.compare_exchange_weak(seen, now)) {
                }
                std::this_thread::sleep_for(100ms);
                --concurrent;
                return Json{{"i", k["i"]}, {"attempt", ctx.attempt}};
            }));
            f.jobs.add(job(
                "t.throws",
                [](const Json&, m::core::JobContext&) -> Json {
                    throw m::core::Error(m::core::ErrorKind::validation, "invoice 7 has no email");
                },
                1));
            f.jobs.add(job(
                "t.throws_int", [](const Json&, m::core::JobContext&) -> Json { throw 42; }, 0));
            auto queue = f.queue();
            std::vector<std::string> ids;
            for (int i = 0; i < 8; ++i) {
                ids.push_back(queue->enqueue(f.jobs.get("t.sleepy"), Json{{"i", i}}).id);
            }
            auto thrower = queue->enqueue(f.jobs.get("t.throws"), Json::object()).id;
            auto int_thrower = queue->enqueue(f.jobs.get("t.throws_int"), Json::object()).id;
            m::core::WorkerOptions o;
            o.concurrency = 4;
            auto finished = [&] {
                for (const auto& id : ids) {
                    if (queue->status(id)->status != JobState::success) return false;
                }
                return queue->status(thrower)->status == JobState::failed &&
                       queue->status(int_thrower)->status == JobState::failed;
            };
            auto stats = run_worker(f, *queue, finished, 20s, o);
            REQUIRE(finished());
            CHECK(peak.load() >= 2); // really concurrent
            CHECK(peak.load() <= 4);
            CHECK(stats.succeeded == 8);
            CHECK(queue->status(ids[3])->result == Json{{"i", 3}, {"attempt", 1}});
            auto failed = *queue->status(thrower);
            CHECK(failed.attempts == 2); // retried once, then dead-lettered
            CHECK(failed.error == "invoice 7 has no email");
            auto odd = *queue->status(int_thrower);
            CHECK(odd.attempts == 1);
            CHECK(odd.error.find("not a std::exception") != std::string::npos);
        }
    }
}

TEST_CASE("a job past its timeout is failed and retried while the worker goes on", "[jobs]") {
    Fixture f("sqlite");
    std::atomic<int> runs{0};
    std::atomic<bool> saw_cancel{false};
    f.jobs.add(job(
        "t.hangs",
        [&](const Json&, m::core::JobContext& ctx) -> Json {
            if (++runs == 1) {
                // Ignores its timeout for a while, then notices it was cancelled.
                for (int i = 0; i < 300 && !ctx.cancelled; ++i) std::this_thread::sleep_for(10ms);
                saw_cancel = ctx.cancelled.load();
                return Json("late result, discarded");
            }
            return Json("second try");
        },
        2, 1));
    f.jobs.add(job("t.quick", [](const Json&, m::core::JobContext&) { return Json(1); }));
    auto queue = f.queue();
    auto id = queue->enqueue(f.jobs.get("t.hangs"), Json::object()).id;
    auto quick = queue->enqueue(f.jobs.get("t.quick"), Json::object()).id;
    m::core::WorkerOptions o;
    o.concurrency = 1; // the hung job must not block the only slot
    auto stats = run_worker(
        f, *queue, [&] { return queue->status(id)->status == JobState::success; }, 20s, o);
    auto r = *queue->status(id);
    CHECK(r.status == JobState::success);
    CHECK(r.result == Json("second try"));
    CHECK(r.attempts == 2);
    CHECK(stats.timed_out == 1);
    CHECK(saw_cancel);
    CHECK(queue->status(quick)->status == JobState::success);
}

TEST_CASE("stopping the worker lets running jobs finish and be acknowledged", "[jobs]") {
    Fixture f("sqlite");
    std::atomic<bool> started{false};
    f.jobs.add(job("t.long", [&](const Json&, m::core::JobContext&) {
        started = true;
        std::this_thread::sleep_for(700ms);
        return Json("finished");
    }));
    auto queue = f.queue();
    auto id = queue->enqueue(f.jobs.get("t.long"), Json::object()).id;
    auto later = queue->enqueue(f.jobs.get("t.long"), Json::object(), {"", 60000}).id;
    run_worker(
        f, *queue, [&] { return started.load(); }, 10s);
    // run() returned only after the running job was done; the delayed one was never fetched.
    CHECK(queue->status(id)->status == JobState::success);
    CHECK(queue->status(later)->status == JobState::pending);
}

TEST_CASE("hooks enqueue jobs only when their transaction commits", "[jobs]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Fixture f(kind);
            struct Enqueuing : m::core::Controller {
                void after_save(const Json& doc, m::core::HookContext& ctx) override {
                    ctx.documents.enqueue_after_commit("core.noop", Json{{"note", doc["title"]}});
                    if (doc["title"] == "bad job") {
                        ctx.documents.enqueue_after_commit("no.such", Json::object());
                    }
                }
            };
            f.controllers.add("Note", std::make_unique<Enqueuing>());
            auto queue = f.queue();
            m::core::DocumentService docs(f.meta, *f.t.db, &f.controllers);
            docs.set_jobs(&f.jobs, queue.get());
            auto s = f.t.db->session();
            {
                m::core::UnitOfWork uow(*s);
                docs.insert(*s, "Note", Json{{"title", "rolled back"}}, m::test::acting("u"));
                // no commit
            }
            CHECK(queue->recent(10).empty());
            {
                m::core::UnitOfWork uow(*s);
                CHECK_THROWS_WITH(
                    docs.insert(*s, "Note", Json{{"title", "bad job"}}, m::test::acting("u")),
                    Catch::Contains("unknown job 'no.such'"));
            }
            CHECK(queue->recent(10).empty());
            {
                m::core::UnitOfWork uow(*s);
                docs.insert(*s, "Note", Json{{"title", "kept"}}, m::test::acting("u"));
                CHECK(queue->recent(10).empty()); // not before the commit
                uow.commit();
            }
            auto jobs = queue->recent(10);
            REQUIRE(jobs.size() == 1);
            CHECK(jobs[0].name == "core.noop");
            CHECK(jobs[0].kwargs == Json{{"note", "kept"}});
        }
    }
}

TEST_CASE("two schedulers enqueue each cron tick once and skip missed ticks", "[jobs]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Fixture f(kind);
            auto every5 = job("t.every5", [](const Json&, m::core::JobContext&) { return Json(); });
            every5.schedule = "*/5 * * * *";
            m::core::JobRegistry registry;
            registry.add(every5);
            auto a = f.queue();
            auto b = f.queue();
            const std::int64_t tick = 1795749900; // 2026-11-27 03:25:00 UTC, a multiple of 5 min
            std::vector<m::core::JobRecord> ra, rb;
            std::thread ta([&] { ra = m::core::enqueue_due_ticks(registry, *a, {}, tick + 3); });
            std::thread tb([&] { rb = m::core::enqueue_due_ticks(registry, *b, {}, tick + 3); });
            ta.join();
            tb.join();
            CHECK(ra.size() + rb.size() == 1);
            CHECK(m::core::enqueue_due_ticks(registry, *a, {}, tick + 30).empty());
            auto all = a->recent(10);
            REQUIRE(all.size() == 1);
            CHECK(all[0].id == "cron.t.every5." + std::to_string(tick));
            // After downtime the worker starts at 03:37:10: the 03:35 tick is too old to run now,
            // and the ticks missed since 03:25 are not replayed.
            CHECK(m::core::enqueue_due_ticks(registry, *a, {}, tick + 12 * 60 + 10).empty());
            CHECK(a->recent(10).size() == 1);
            // The next tick is enqueued.
            CHECK(m::core::enqueue_due_ticks(registry, *a, {}, tick + 15 * 60 + 1).size() == 1);
            // Extra schedules (a ScheduledJob row) carry kwargs and their own key.
            std::vector<m::core::ExtraSchedule> extra{
                {"t.every5", "0 * * * *", Json{{"k", 1}}, "r1"}};
            auto made = m::core::enqueue_due_ticks(registry, *a, extra, 1795752000 + 5);
            REQUIRE(made.size() == 2); // 04:00 matches both schedules
        }
    }
}

TEST_CASE("document changes write outbox events that commit with them", "[jobs][outbox]") {
    for (const auto& kind : m::test::database_kinds()) {
        DYNAMIC_SECTION(kind) {
            Fixture f(kind);
            m::core::DocumentService docs(f.meta, *f.t.db, &f.controllers);
            m::core::OutboxTail tail(*f.t.db, 200ms);
            CHECK(tail.poll().empty()); // starts at the newest row
            auto s = f.t.db->session();
            std::string id;
            {
                m::core::UnitOfWork uow(*s);
                docs.insert(*s, "Note", Json{{"title", "never"}}, m::test::acting("a@x"));
            }
            {
                m::core::UnitOfWork uow(*s);
                auto doc = docs.insert(*s, "Note", Json{{"title", "one"}, {"owner_email", "a@x"}},
                                       m::test::acting("a@x"));
                id = doc["id"].get<std::string>();
                uow.commit();
            }
            {
                m::core::UnitOfWork uow(*s);
                docs.update(*s, "Note", id, Json{{"title", "two"}}, m::test::acting("b@x"));
                docs.remove(*s, "Note", id, m::test::acting("b@x"));
                uow.commit();
            }
            std::vector<m::core::OutboxEvent> events;
            for (int i = 0; i < 50 && events.size() < 3; ++i) {
                for (auto& e : tail.poll()) events.push_back(e);
                std::this_thread::sleep_for(20ms);
            }
            REQUIRE(events.size() == 3);
            CHECK(events[0].event.topic == "doc.created");
            CHECK(events[0].event.doctype == "Note");
            CHECK(events[0].event.doc_id == id);
            CHECK(events[0].event.user == "a@x");
            CHECK(events[0].event.rls_value == Json("a@x"));
            CHECK(events[1].event.topic == "doc.updated");
            CHECK(events[2].event.topic == "doc.deleted");
            CHECK(events[0].outbox_id < events[1].outbox_id);
            CHECK(tail.poll().empty()); // each row once
        }
    }
}

TEST_CASE("the outbox tail waits for a transaction that commits out of id order", "[outbox]") {
    if (m::test::database_kinds().size() < 2) return; // needs PostgreSQL's concurrent writers
    Fixture f("postgres");
    m::core::DocumentService docs(f.meta, *f.t.db, &f.controllers);
    m::core::OutboxTail tail(*f.t.db, 2s);
    tail.poll();
    auto slow = f.t.db->session();
    auto fast = f.t.db->session();
    m::core::UnitOfWork slow_uow(*slow);
    docs.insert(*slow, "Note", Json{{"title", "slow"}}, m::test::acting("u")); // takes the lower id
    {
        m::core::UnitOfWork uow(*fast);
        docs.insert(*fast, "Note", Json{{"title", "fast"}}, m::test::acting("u"));
        uow.commit();
    }
    auto first = tail.poll();
    REQUIRE(first.size() == 1); // the later id is delivered at once
    slow_uow.commit();
    auto second = tail.poll();
    REQUIRE(second.size() == 1); // and the earlier one once it commits: no gap
    CHECK(second[0].outbox_id < first[0].outbox_id);
}

TEST_CASE("core.noop returns its kwargs and core.process_outbox prunes", "[jobs]") {
    Fixture f("sqlite");
    auto queue = f.queue();
    auto id = queue->enqueue(f.jobs.get("core.noop"), Json{{"ping", 1}}).id;
    auto house = queue->enqueue(f.jobs.get("core.process_outbox"), Json::object()).id;
    run_worker(
        f, *queue,
        [&] {
            return queue->status(id)->status == JobState::success &&
                   queue->status(house)->status == JobState::success;
        },
        10s);
    CHECK(queue->status(id)->result == Json{{"ping", 1}});
    auto r = queue->status(house)->result;
    CHECK(r["relayed"] == 0);
    CHECK(r.contains("pruned_events"));
}

TEST_CASE("Scheduled Job rows are checked on save and scheduled like registrations", "[jobs]") {
    Fixture f("sqlite");
    for (auto& dt : m::core::core_doctypes()) f.meta.add(std::move(dt));
    f.meta.check_references();
    m::migrations::Migrator migrator(*f.t.db, f.meta, f.dir.path(), {});
    migrator.apply(migrator.plan(), false);
    f.controllers.add("Scheduled Job", m::core::make_scheduled_job_controller(f.jobs));
    m::core::DocumentService docs(f.meta, *f.t.db, &f.controllers);
    auto s = f.t.db->session();
    {
        m::core::UnitOfWork uow(*s);
        try {
            docs.insert(*s, "Scheduled Job",
                        Json{{"title", "bad"}, {"job", "nope.job"}, {"schedule", "61 * * * *"}},
                        m::test::acting("Administrator"));
            FAIL("a bad Scheduled Job was saved");
        } catch (const m::core::Error& e) {
            CHECK(e.kind() == m::core::ErrorKind::validation);
            std::string text = e.what();
            CHECK(text.find("unknown job 'nope.job'") != std::string::npos);
            CHECK(text.find("minute 61 is out of range") != std::string::npos);
        }
    }
    {
        m::core::UnitOfWork uow(*s);
        docs.insert(*s, "Scheduled Job",
                    Json{{"title", "hourly ping"},
                         {"job", "core.noop"},
                         {"schedule", "0 * * * *"},
                         {"kwargs", Json{{"from", "row"}}}},
                    m::test::acting("Administrator"));
        docs.insert(*s, "Scheduled Job",
                    Json{{"title", "switched off"},
                         {"job", "core.noop"},
                         {"schedule", "0 * * * *"},
                         {"enabled", false}},
                    m::test::acting("Administrator"));
        uow.commit();
    }
    auto rows = m::core::scheduled_job_rows(docs, *s);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].key == "hourly ping");
    auto queue = f.queue();
    m::core::JobRegistry only_noop;
    only_noop.add(job("core.noop", [](const Json& k, m::core::JobContext&) { return k; }));
    const std::int64_t four = 1795752000; // 2026-11-27 04:00:00 UTC
    auto made = m::core::enqueue_due_ticks(only_noop, *queue, rows, four + 2);
    REQUIRE(made.size() == 1);
    CHECK(made[0].id == "cron.core.noop.hourly_ping." + std::to_string(four));
    CHECK(made[0].kwargs == Json{{"from", "row"}});
    CHECK(m::core::enqueue_due_ticks(only_noop, *queue, rows, four + 40).empty());

    // A row that never passed the check (written without the controller, as SQL would) is
    // skipped and reported; the rows after it still run.
    {
        m::core::DocumentService unchecked(f.meta, *f.t.db, nullptr);
        m::core::UnitOfWork uow(*s);
        unchecked.insert(*s, "Scheduled Job",
                         Json{{"title", "a broken row"}, {"job", "core.noop"}, {"schedule", "bad"}},
                         m::test::sys());
        unchecked.insert(
            *s, "Scheduled Job",
            Json{{"title", "gone job"}, {"job", "gone.job"}, {"schedule", "0 * * * *"}},
            m::test::sys());
        uow.commit();
    }
    rows = m::core::scheduled_job_rows(docs, *s);
    REQUIRE(rows.size() == 3);
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    CHECK(rows[0].key == "a broken row"); // sorted first, so it would stop the others if it threw
    std::vector<std::string> skipped;
    const std::int64_t five = four + 3600;
    made =
        m::core::enqueue_due_ticks(only_noop, *queue, rows, five + 2, 60,
                                   [&](const m::core::ExtraSchedule& row, const std::string& why) {
                                       skipped.push_back(row.key + ": " + why);
                                   });
    REQUIRE(made.size() == 1);
    CHECK(made[0].id == "cron.core.noop.hourly_ping." + std::to_string(five));
    REQUIRE(skipped.size() == 2);
    CHECK(skipped[0].find("a broken row: cron 'bad'") == 0);
    CHECK(skipped[1] == "gone job: unknown job 'gone.job'");
}

TEST_CASE("the scheduler's rows are an error, not nothing, when the database cannot answer",
          "[jobs]") {
    Fixture f("sqlite");
    for (auto& dt : m::core::core_doctypes()) f.meta.add(std::move(dt));
    f.meta.check_references();
    // Not migrated: the table is missing. Before, this read as "no schedules" (and so did a
    // database that is down); now the worker logs the error on every pass.
    m::core::DocumentService docs(f.meta, *f.t.db, &f.controllers);
    auto s = f.t.db->session();
    CHECK_THROWS_AS(m::core::scheduled_job_rows(docs, *s), m::core::Error);
}
