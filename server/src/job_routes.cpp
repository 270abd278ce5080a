// The jobs API of `m serve` (docs/reference/jobs-events.md): Admin and System may enqueue a
// registered job and read a job's status.
#include "routes.hpp"

#include "m/core/jobs.hpp"

#include <fmt/format.h>

namespace m::server {

namespace {

core::JobQueue& job_queue(Api& api, const httplib::Request& req) {
    core::Principal who = api.authenticate(req);
    if (who.is_guest()) throw Error(ErrorKind::unauthenticated, "log in first");
    if (!who.is_superuser()) {
        throw Error(ErrorKind::permission, "only Admin and System may enqueue or read jobs");
    }
    if (!api.services.queue || !api.services.jobs) {
        throw Error(ErrorKind::unavailable, "this server has no job queue");
    }
    return *api.services.queue;
}

} // namespace

/// POST /api/v1/jobs/{name}: the body is the kwargs object; an Idempotency-Key header is the job
/// id (enqueueing it again answers the existing job). 202 with the job's status.
void job_enqueue(Api& api, const httplib::Request& req, httplib::Response& res) {
    core::JobQueue& queue = job_queue(api, req);
    const core::JobDef& def = api.services.jobs->get(req.matches[1].str());
    core::Json kwargs = body_object(req, true);
    auto record = queue.enqueue(def, kwargs,
                                core::EnqueueOptions{req.get_header_value("Idempotency-Key"), 0});
    send_json(res, 202, record.to_json());
}

void job_status(Api& api, const httplib::Request& req, httplib::Response& res) {
    core::JobQueue& queue = job_queue(api, req);
    const std::string id = req.matches[1].str();
    auto record = queue.status(id);
    if (!record) throw Error(ErrorKind::not_found, fmt::format("no job '{}'", id));
    send_json(res, 200, record->to_json());
}

} // namespace m::server
