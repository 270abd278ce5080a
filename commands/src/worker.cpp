// `m worker` (SPEC §7): runs background jobs from the configured queue on N threads, with the
// same container as every command (database, app modules, queue, broker). SIGINT/SIGTERM stop
// fetching at once and give running jobs --grace seconds to finish; then services stop.
#include "m/core/worker.hpp"
#include "m/commands/command.hpp"
#include "m/core/document_service.hpp"
#include "m/core/error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <csignal>
#include <cstdio>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <unistd.h>

namespace m::commands {

namespace {

struct WorkerFlags {
    int concurrency = 4;
    std::vector<std::string> queues;
    bool scheduler = false;
    int grace = 30;
};

void worker(const GlobalOptions& options, Needs needs, const WorkerFlags& flags) {
    // Blocked before any thread starts, so only the signal thread below sees them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    require_private_project(load_settings_for(options)); // before any app code is loaded
    auto rt = bootstrap(options, needs);
    core::DocumentService documents(rt->meta, rt->db(), &rt->controllers);
    documents.set_jobs(&rt->jobs, rt->queue);

    static std::mutex log_mutex;
    core::WorkerOptions wo;
    wo.concurrency = flags.concurrency;
    wo.queues = flags.queues;
    wo.scheduler = flags.scheduler;
    wo.grace = std::chrono::seconds(flags.grace);
    wo.lease = std::chrono::seconds(rt->settings.job_lease);
    const bool quiet = rt->settings.log_level == "error" || rt->settings.log_level == "off";
    wo.log = [quiet](const std::string& line) {
        if (quiet) return;
        std::lock_guard lock(log_mutex);
        fmt::print(stderr, "m worker: {}\n", line);
    };
    for (const auto& q : wo.queues) {
        bool known = false;
        for (const auto& have : rt->jobs.queues()) known = known || have == q;
        if (!known) {
            throw core::Error(core::ErrorKind::validation,
                              fmt::format("no registered job uses queue '{}' (queues: {})", q,
                                          fmt::join(rt->jobs.queues(), ", ")));
        }
    }

    std::atomic<bool> stop{false};
    std::thread waiter([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        stop = true;
    });
    if (!quiet) {
        fmt::print(stderr, "m worker: {} thread{} on the {} queue ({}){}\n", wo.concurrency,
                   wo.concurrency == 1 ? "" : "s", rt->queue->kind(),
                   wo.queues.empty() ? fmt::format("{}", fmt::join(rt->jobs.queues(), ", "))
                                     : fmt::format("{}", fmt::join(wo.queues, ", ")),
                   wo.scheduler ? ", scheduler on" : "");
    }
    core::Worker w(rt->jobs, *rt->queue, rt->db(), documents, rt->broker, wo);
    auto stats = w.run(stop);
    // The signal thread is waiting in sigwait: wake it if run() ended for another reason.
    if (!stop) pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
    if (!quiet) {
        fmt::print(stderr, "m worker: stopped ({} succeeded, {} failed attempts)\n",
                   stats.succeeded, stats.failed);
    }
    if (stats.abandoned_running > 0) {
        // Threads of jobs that ignored their timeout still run and may touch the services;
        // leave without stopping them (their jobs were not acknowledged and come back).
        fmt::print(stderr, "m worker: {} job thread{} did not stop; exiting without waiting\n",
                   stats.abandoned_running, stats.abandoned_running == 1 ? "" : "s");
        std::fflush(nullptr);
        _exit(0);
    }
}

} // namespace

void add_worker(CLI::App& cmd, const GlobalOptions& options, Needs needs) {
    auto f = std::make_shared<WorkerFlags>();
    cmd.add_option("--concurrency,-c", f->concurrency, "Jobs run at once (threads)")
        ->check(CLI::Range(1, 1024));
    cmd.add_option("--queue", f->queues, "Only this queue (repeatable; default all)");
    cmd.add_flag("--scheduler", f->scheduler,
                 "Also enqueue cron jobs (safe in several workers: each tick runs once)");
    cmd.add_option("--grace", f->grace, "Seconds running jobs may finish after SIGTERM")
        ->check(CLI::Range(0, 3600));
    cmd.callback([&options, needs, f] { worker(options, needs, *f); });
}

} // namespace m::commands
