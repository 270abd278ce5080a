// `m job enqueue|status|list|recent|retry|cancel` (docs/reference/commands.md, "`m job`"): jobs
// from the shell, on whichever queue the settings name (NATS_URL → JetStream, else the project
// database).
#include "m/commands/command.hpp"
#include "m/core/error.hpp"
#include "m/core/json_input.hpp"

#include <fmt/format.h>

namespace m::commands {

using core::Error;
using core::ErrorKind;
using core::Json;

namespace {

struct JobOptions {
    std::string name;
    std::string kwargs = "{}";
    std::string id;
    std::string status;
    int limit = 20;
};

void print_record(const core::JobRecord& r) {
    fmt::print("{}  {}  {}  attempts {}/{}\n", r.id, r.name, core::to_string(r.status), r.attempts,
               r.max_attempts);
    if (!r.result.is_null()) fmt::print("result: {}\n", r.result.dump());
    if (!r.error.empty()) fmt::print("error: {}\n", r.error);
}

void job_enqueue(const GlobalOptions& g, Needs needs, const JobOptions& o) {
    core::check_json_nesting(o.kwargs, "--kwargs");
    Json kwargs = Json::parse(o.kwargs, nullptr, false);
    if (kwargs.is_discarded()) {
        throw Error(ErrorKind::validation, fmt::format("--kwargs is not valid JSON: {}", o.kwargs));
    }
    if (!kwargs.is_object()) {
        throw Error(ErrorKind::validation,
                    fmt::format("--kwargs must be a JSON object, not {}", kwargs.type_name()));
    }
    auto rt = bootstrap(g, needs);
    const core::JobDef& def = rt->jobs.get(o.name);
    auto record = rt->queue->enqueue(def, kwargs, core::EnqueueOptions{o.id, 0});
    if (g.json) {
        print_json(Json{{"id", record.id}, {"status", core::to_string(record.status)}});
    } else {
        fmt::print("{}\n", record.id);
    }
}

core::JobRecord find(Runtime& rt, const std::string& id) {
    auto record = rt.queue->status(id);
    if (!record) throw Error(ErrorKind::not_found, fmt::format("no job '{}'", id));
    return *record;
}

void job_status(const GlobalOptions& g, Needs needs, const JobOptions& o) {
    auto rt = bootstrap(g, needs);
    auto record = find(*rt, o.id);
    if (g.json) {
        print_json(record.to_json());
    } else {
        print_record(record);
    }
}

void job_list(const GlobalOptions& g, Needs needs) {
    auto rt = bootstrap(g, needs);
    if (g.json) {
        Json out = Json::array();
        for (const auto& [name, def] : rt->jobs.all()) {
            out.push_back(
                Json{{"name", name},
                     {"retries", def.retries},
                     {"timeout", def.timeout},
                     {"queue", def.queue},
                     {"schedule", def.schedule.empty() ? Json(nullptr) : Json(def.schedule)},
                     {"description", def.description}});
        }
        print_json(out);
        return;
    }
    fmt::print("{:<32} {:>7} {:>8} {:<10} {}\n", "JOB", "RETRIES", "TIMEOUT", "QUEUE", "SCHEDULE");
    for (const auto& [name, def] : rt->jobs.all()) {
        fmt::print("{:<32} {:>7} {:>7}s {:<10} {}\n", name, def.retries, def.timeout, def.queue,
                   def.schedule.empty() ? "-" : def.schedule);
    }
}

void job_recent(const GlobalOptions& g, Needs needs, const JobOptions& o) {
    std::optional<core::JobState> state;
    if (!o.status.empty()) state = core::job_state_from(o.status);
    auto rt = bootstrap(g, needs);
    auto records = rt->queue->recent(o.limit, state);
    if (g.json) {
        Json out = Json::array();
        for (const auto& r : records) out.push_back(r.to_json());
        print_json(out);
        return;
    }
    for (const auto& r : records) {
        fmt::print("{}  {:<28} {:<9} {}/{}{}\n", r.id, r.name, core::to_string(r.status),
                   r.attempts, r.max_attempts, r.error.empty() ? "" : "  " + r.error);
    }
}

void job_retry_or_cancel(const GlobalOptions& g, Needs needs, const JobOptions& o, bool retry) {
    auto rt = bootstrap(g, needs);
    auto record = retry ? rt->queue->retry(o.id) : rt->queue->cancel(o.id);
    if (g.json) {
        print_json(record.to_json());
    } else {
        print_record(record);
    }
}

} // namespace

void add_job(CLI::App& cmd, const GlobalOptions& options, Needs needs) {
    cmd.require_subcommand(1);
    auto o = std::make_shared<JobOptions>();
    auto* enqueue = cmd.add_subcommand("enqueue", "Enqueue a job and print its id");
    enqueue->add_option("NAME", o->name, "The job, e.g. core.noop")->required();
    enqueue->add_option("--kwargs", o->kwargs, "Arguments as a JSON object");
    enqueue->add_option("--id", o->id,
                        "Job id (also the dedup key: an existing id enqueues "
                        "nothing)");
    enqueue->callback([&options, needs, o] { job_enqueue(options, needs, *o); });

    auto* status = cmd.add_subcommand("status", "Show a job's status, attempts, result and error");
    status->add_option("ID", o->id, "The job id")->required();
    status->callback([&options, needs, o] { job_status(options, needs, *o); });

    auto* list = cmd.add_subcommand("list", "List the registered jobs");
    list->callback([&options, needs] { job_list(options, needs); });

    auto* recent = cmd.add_subcommand("recent", "List the newest jobs and their status");
    recent->add_option("--status", o->status,
                       "Only PENDING, RUNNING, SUCCESS, FAILED or CANCELLED");
    recent->add_option("--limit", o->limit, "How many (default 20)")->check(CLI::Range(1, 10000));
    recent->callback([&options, needs, o] { job_recent(options, needs, *o); });

    auto* retry = cmd.add_subcommand("retry", "Enqueue a FAILED or CANCELLED job again");
    retry->add_option("ID", o->id, "The job id")->required();
    retry->callback([&options, needs, o] { job_retry_or_cancel(options, needs, *o, true); });

    auto* cancel = cmd.add_subcommand("cancel", "Cancel a PENDING job");
    cancel->add_option("ID", o->id, "The job id")->required();
    cancel->callback([&options, needs, o] { job_retry_or_cancel(options, needs, *o, false); });
}

} // namespace m::commands
