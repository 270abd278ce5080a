// m-jobs-bench: job and event figures for bench/jobs.sh (issue 5). Prints measurements; never
// judges them (the script prints the ratios to the goals).
//
//   m-jobs-bench queue  --work DIR [--nats URL] [--redis URL] [--jobs N]
//       raw JetStream publish+fetch+ack (the ceiling, measured with nats.c by this same tool),
//       then for each queue (the embedded queue on SQLite; NATS with status in Redis): enqueue
//       rate (one by one, and batched), and no-op jobs/s end to end through core::Worker with
//       1 and 4 workers (each its own connection and 4 threads), status written for every job.
//   m-jobs-bench events --project DIR --url http://127.0.0.1:PORT --token T [--count N]
//       commit → SSE latency: this process writes Customers into the project's database (like
//       `m doc` in another shell) while reading the running `m serve`'s live stream.
#include "m/adapters/nats/nats.hpp"
#include "m/adapters/redis/redis.hpp"
#include "m/adapters/sqlite/sqlite_database.hpp"
#include "m/core/doctype_loader.hpp"
#include "m/core/document_service.hpp"
#include "m/core/jobs.hpp"
#include "m/core/settings.hpp"
#include "m/core/worker.hpp"
#include "m/migrations/migrator.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;
using m::core::Json;
namespace fs = std::filesystem;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::map<std::string, std::string> parse_args(int argc, char** argv, int first) {
    std::map<std::string, std::string> out;
    for (int i = first; i + 1 < argc; i += 2) out[argv[i]] = argv[i + 1];
    return out;
}

void line(const std::string& what, double value, const std::string& unit) {
    fmt::print("{:<58} {:>10.0f} {}\n", what, value, unit);
    std::fflush(stdout);
}

// ---- the ceiling: JetStream with nats.c, no m code ------------------------------------------

double raw_jetstream(const std::string& url, int n) {
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    natsOptions* o = nullptr;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, url.c_str());
    if (natsConnection_Connect(&nc, o) != NATS_OK) throw std::runtime_error("cannot connect");
    natsConnection_JetStream(&js, nc, nullptr);
    jsErrCode jerr = static_cast<jsErrCode>(0);
    js_DeleteStream(js, "bench_raw", nullptr, &jerr);
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    const char* subjects[] = {"bench_raw.x"};
    sc.Name = "bench_raw";
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Retention = js_WorkQueuePolicy;
    sc.Storage = js_FileStorage;
    if (js_AddStream(nullptr, js, &sc, nullptr, &jerr) != NATS_OK) {
        throw std::runtime_error("cannot add stream");
    }
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = "raw";
    cc.AckPolicy = js_AckExplicit;
    cc.MaxAckPending = 100000;
    js_AddConsumer(nullptr, js, "bench_raw", &cc, nullptr, &jerr);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = "bench_raw";
    so.Consumer = "raw";
    natsSubscription* sub = nullptr;
    js_PullSubscribe(&sub, js, "bench_raw.x", "raw", nullptr, &so, &jerr);

    std::string payload(128, 'x');
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        js_PublishAsync(js, "bench_raw.x", payload.data(), int(payload.size()), nullptr);
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 30000;
    js_PublishAsyncComplete(js, &po);
    int got = 0;
    while (got < n) {
        natsMsgList list{};
        if (natsSubscription_Fetch(&list, sub, 100, 5000, &jerr) != NATS_OK) break;
        for (int i = 0; i < list.Count; ++i) natsMsg_Ack(list.Msgs[i], nullptr);
        got += list.Count;
        natsMsgList_Destroy(&list);
    }
    double rate = got / seconds_since(t0);
    natsSubscription_Destroy(sub);
    js_DeleteStream(js, "bench_raw", nullptr, &jerr);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(o);
    return rate;
}

// ---- one queue: enqueue rates and end-to-end no-op jobs --------------------------------------

struct QueueUnderTest {
    std::string label;
    std::function<std::unique_ptr<m::core::JobQueue>()> make;
};

void bench_queue(const QueueUnderTest& q, m::core::Database& db, const m::core::MetaRegistry& meta,
                 int n) {
    std::atomic<int> done{0};
    m::core::JobRegistry registry;
    m::core::JobDef def;
    def.name = "bench.noop";
    def.queue = "bench";
    def.fn = [&](const Json& kwargs, m::core::JobContext&) {
        ++done;
        return kwargs;
    };
    registry.add(def);
    auto queue = q.make();

    int n_sync = std::min(n, 3000);
    auto t0 = Clock::now();
    for (int i = 0; i < n_sync; ++i) queue->enqueue(def, Json{{"i", i}});
    line(q.label + ": enqueue, one by one", n_sync / seconds_since(t0), "jobs/s");
    // Drain those (not timed) so that each run below starts from an empty queue.
    auto drain = [&](int count) {
        int got = 0;
        while (got < count) {
            for (auto& l : queue->fetch("bench", 500, 1000)) {
                queue->succeed(l, nullptr);
                ++got;
            }
        }
    };
    drain(n_sync);

    std::vector<Json> batch;
    for (int i = 0; i < n; ++i) batch.push_back(Json{{"i", i}});
    m::core::DocumentService docs(meta, db);
    for (int workers : {1, 4}) {
        t0 = Clock::now();
        for (std::size_t at = 0; at < batch.size(); at += 1000) {
            std::vector<Json> chunk(batch.begin() + at,
                                    batch.begin() + std::min(batch.size(), at + 1000));
            queue->enqueue_many(def, chunk);
        }
        if (workers == 1) line(q.label + ": enqueue, batched", n / seconds_since(t0), "jobs/s");
        done = 0;
        std::atomic<bool> stop{false};
        std::vector<std::unique_ptr<m::core::JobQueue>> queues;
        std::vector<std::thread> threads;
        for (int w = 0; w < workers; ++w) queues.push_back(q.make());
        t0 = Clock::now();
        for (int w = 0; w < workers; ++w) {
            threads.emplace_back([&, w] {
                m::core::WorkerOptions o;
                o.concurrency = 4;
                o.grace = std::chrono::milliseconds(10000);
                m::core::Worker worker(registry, *queues[w], db, docs, nullptr, o);
                worker.run(stop);
            });
        }
        while (done < n && seconds_since(t0) < 300) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        double rate = done / seconds_since(t0);
        stop = true;
        for (auto& t : threads) t.join();
        line(fmt::format("{}: no-op jobs end to end, {} worker{} x 4 threads", q.label, workers,
                         workers == 1 ? "" : "s"),
             rate, "jobs/s");
    }
}

int queue_mode(const std::map<std::string, std::string>& args) {
    fs::path work = args.at("--work");
    int n = args.count("--jobs") ? std::stoi(args.at("--jobs")) : 20000;
    m::core::MetaRegistry meta;
    m::adapters::sqlite::SqliteDatabase db(work / "jobs.sqlite3", 16);
    db.start();
    m::migrations::Migrator migrator(db, meta, work, {});
    migrator.apply(migrator.plan(), false);

    if (args.count("--nats")) {
        line(fmt::format("raw JetStream: publish async + fetch 100 + ack ({} msgs)", n),
             raw_jetstream(args.at("--nats"), n), "msgs/s (ceiling)");
    }
    bench_queue({"embedded queue (SQLite)",
                 [&] {
                     auto q = m::core::make_database_job_queue(db);
                     q->start();
                     return q;
                 }},
                db, meta, std::min(n, 5000));
    if (args.count("--nats") && args.count("--redis")) {
        auto store = m::adapters::redis::make_redis_job_store(args.at("--redis"));
        store->start();
        bench_queue({"NATS + status in Redis",
                     [&] {
                         auto q = m::adapters::nats::make_nats_job_queue(args.at("--nats"), *store);
                         q->start();
                         return q;
                     }},
                    db, meta, n);
    }
    return 0;
}

// ---- events: commit in this process → the live stream of a running m serve -------------------

int events_mode(const std::map<std::string, std::string>& args) {
    fs::path root = args.at("--project");
    int count = args.count("--count") ? std::stoi(args.at("--count")) : 200;
    m::core::SettingsFlags flags;
    flags.project_dir = root;
    auto settings = m::core::load_settings(flags);
    auto meta = m::core::load_metadata(root, m::core::discover_apps(root));
    std::string url = settings.effective_database_url();
    if (url.rfind("sqlite://", 0) != 0) throw std::runtime_error("events mode needs SQLite");
    fs::path path = url.substr(9);
    if (path.is_relative()) path = root / path;
    m::adapters::sqlite::SqliteDatabase db(path, 2);
    db.start();
    m::core::DocumentService docs(meta, db);

    std::mutex mutex;
    std::map<std::string, Clock::time_point> received;
    std::string host_port = args.at("--url");
    httplib::Client client(host_port);
    client.set_read_timeout(60, 0);
    std::atomic<bool> stop{false};
    std::string pending;
    std::atomic<bool> connected{false};
    std::thread reader([&] {
        client.Get("/api/v1/stream", {{"Authorization", "Bearer " + args.at("--token")}},
                   [&](const char* data, size_t len) {
                       auto now = Clock::now();
                       connected = true;
                       pending.append(data, len);
                       for (auto at = pending.find("\n\n"); at != std::string::npos;
                            at = pending.find("\n\n")) {
                           std::string frame = pending.substr(0, at);
                           pending.erase(0, at + 2);
                           auto d = frame.find("data: ");
                           if (frame.find("event: doc.created") == std::string::npos ||
                               d == std::string::npos) {
                               continue;
                           }
                           Json j = Json::parse(frame.substr(d + 6), nullptr, false);
                           if (!j.is_object()) continue;
                           std::lock_guard lock(mutex);
                           received.emplace(j.value("name", ""), now);
                       }
                       return !stop;
                   });
    });
    while (!connected) std::this_thread::sleep_for(std::chrono::milliseconds(10));

    std::map<std::string, Clock::time_point> committed;
    std::string tag = std::to_string(m::core::now_ms());
    for (int i = 0; i < count; ++i) {
        auto s = db.session();
        m::core::UnitOfWork uow(*s);
        Json doc =
            docs.insert(*s, "Customer", Json{{"customer_name", fmt::format("Bench {} {}", tag, i)}},
                        m::core::Principal::system_user());
        uow.commit();
        committed[doc["name"].get<std::string>()] = Clock::now();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
        std::lock_guard lock(mutex);
        if (received.size() >= committed.size()) break;
    }
    stop = true;
    client.stop();
    reader.join();
    std::vector<double> ms;
    for (const auto& [name, at] : committed) {
        auto it = received.find(name);
        if (it != received.end()) {
            ms.push_back(std::chrono::duration<double, std::milli>(it->second - at).count());
        }
    }
    std::sort(ms.begin(), ms.end());
    if (ms.empty()) throw std::runtime_error("no event reached the stream");
    auto pct = [&](double p) { return ms[std::min(ms.size() - 1, std::size_t(p * ms.size()))]; };
    fmt::print("events: {} of {} commits reached the stream; latency p50 {:.1f} ms, p99 {:.1f} "
               "ms, max {:.1f} ms\n",
               ms.size(), committed.size(), pct(0.5), pct(0.99), ms.back());
    fmt::print("EVENT_P99_MS {:.1f}\n", pct(0.99));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        fmt::print(stderr, "usage: m-jobs-bench queue|events --option value ...\n");
        return 2;
    }
    try {
        std::string mode = argv[1];
        auto args = parse_args(argc, argv, 2);
        if (mode == "queue") return queue_mode(args);
        if (mode == "events") return events_mode(args);
        fmt::print(stderr, "unknown mode '{}'\n", mode);
        return 2;
    } catch (const std::exception& e) {
        fmt::print(stderr, "m-jobs-bench: {}\n", e.what());
        return 1;
    }
}
