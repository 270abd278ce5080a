// The cron side of `m worker --scheduler` (docs/reference/jobs-events.md, "The scheduler"): the
// schedules of registered jobs and of the built-in DocType "Scheduled Job", and the enqueueing of
// each due tick exactly once across schedulers (the job id names the tick).
#pragma once

#include "m/core/jobs.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace m::core {

class Controller;
class DocumentService;
class Session;

/// A schedule besides the registered jobs' own: a row of "Scheduled Job".
struct ExtraSchedule {
    std::string job;
    std::string cron;
    Json kwargs = Json::object();
    std::string key; ///< distinguishes two schedules of the same job (the row's name)
};

/// The enabled rows of "Scheduled Job", read through the document service as the system. Throws
/// what the database throws: a database that is down (or not migrated) is an error, never "no
/// schedules".
std::vector<ExtraSchedule> scheduled_job_rows(DocumentService& documents, Session& session);

/// The controller of "Scheduled Job": the job must be registered, the schedule a valid cron
/// expression, the kwargs an object. Registered by bootstrap for every command.
std::unique_ptr<Controller> make_scheduled_job_controller(const JobRegistry& registry);

/// Called for an extra schedule that cannot run (its cron expression does not parse, or its job
/// is not registered in this process), with the reason; the other schedules still run.
using SkippedSchedule = std::function<void(const ExtraSchedule&, const std::string& why)>;

/// Enqueues the cron ticks that are due at `now` (Unix seconds) for every scheduled job of the
/// registry plus `extra`; a tick is due when it falls within the last `window` seconds, so ticks
/// missed during downtime are not replayed. Returns the jobs newly enqueued (an id that exists
/// already was enqueued by another scheduler).
std::vector<JobRecord> enqueue_due_ticks(const JobRegistry& registry, JobQueue& queue,
                                         const std::vector<ExtraSchedule>& extra, std::int64_t now,
                                         std::int64_t window = 60,
                                         const SkippedSchedule& skipped = {});

} // namespace m::core
