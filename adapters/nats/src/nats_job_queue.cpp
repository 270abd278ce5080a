// NatsJobQueue's life (start: the connection and the stream; stop; check), reading records, and
// retry and cancel, which work on the stored record. Enqueueing is in nats_job_publish.cpp,
// fetching and settling in nats_job_delivery.cpp.
#include "nats_job_queue_impl.hpp"

#include "m/adapters/nats/nats.hpp"
#include "m/core/error.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <shared_mutex>
#include <utility>

namespace m::adapters::nats {

using namespace job_queue;
using core::Error;
using core::ErrorKind;
using core::JobRecord;
using core::JobState;
using core::Json;

namespace job_queue {

void check_queue_name(const std::string& queue) {
    bool ok = !queue.empty() && queue.size() <= 100 &&
              std::all_of(queue.begin(), queue.end(),
                          [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
    if (!ok)
        throw Error(ErrorKind::validation,
                    "queue '" + queue + "': NATS queue names are letters, digits, '_' and '-'");
}

std::optional<std::string> header(natsMsg* msg, const char* key) {
    const char* value = nullptr;
    if (natsMsgHeader_Get(msg, key, &value) != NATS_OK || !value) return std::nullopt;
    return std::string(value);
}

} // namespace job_queue

void NatsJobQueue::Impl::require_started() const {
    if (!started)
        throw Error(ErrorKind::unavailable, "NATS at " + url + ": the job queue is not started");
}

NatsJobQueue::NatsJobQueue(std::string url, core::JobStore& store, NatsJobQueueOptions options)
    : m_impl(std::make_unique<Impl>(std::move(url), store, std::move(options))) {}

NatsJobQueue::~NatsJobQueue() {
    stop();
}

std::string NatsJobQueue::service_name() const {
    return "job queue (NATS)";
}

std::string NatsJobQueue::kind() const {
    return "nats";
}

void NatsJobQueue::start() {
    std::unique_lock lock(m_impl->life);
    if (m_impl->started) return;
    detail::Connection::Options co;
    co.url = m_impl->url;
    co.name = m_impl->options.client_name;
    co.publish_error = &Impl::on_publish_error;
    co.publish_error_closure = m_impl.get();
    m_impl->conn.connect(co);

    std::string subjects = std::string(k_stream) + ".>";
    const char* subject_list[] = {subjects.c_str()};
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = k_stream;
    sc.Subjects = subject_list;
    sc.SubjectsLen = 1;
    sc.Retention = js_WorkQueuePolicy; // an acked job leaves the stream
    sc.Storage = js_FileStorage;       // jobs survive a server restart
    sc.Duplicates = detail::ns_from_ms(10 * 60 * 1000);
    try {
        m_impl->conn.ensure_stream(sc);
    } catch (const Error&) {
        m_impl->conn.close();
        throw;
    }
    m_impl->started = true;
}

void NatsJobQueue::stop() noexcept {
    std::unique_lock lock(m_impl->life);
    {
        std::lock_guard subs_lock(m_impl->subs_mutex);
        // Destroy without unsubscribing from the consumer: it is durable and shared with the
        // other workers (nats.c >= 3.4 deletes nothing on destroy).
        for (auto& [queue, sub] : m_impl->subs) natsSubscription_Destroy(sub);
        m_impl->subs.clear();
    }
    m_impl->conn.close();
    m_impl->started = false;
}

void NatsJobQueue::check() {
    std::shared_lock lock(m_impl->life);
    m_impl->require_started();
    if (!m_impl->conn.connected())
        throw Error(ErrorKind::unavailable,
                    "NATS at " + m_impl->url + ": not connected (reconnecting)");
    jsStreamInfo* info = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&info, m_impl->conn.js(), k_stream, nullptr, &code);
    jsStreamInfo_Destroy(info);
    if (s != NATS_OK)
        m_impl->conn.fail(std::string("cannot read stream '") + k_stream + "'", s, code);
}

std::optional<JobRecord> NatsJobQueue::status(const std::string& id) {
    return m_impl->store.get(id);
}

std::vector<JobRecord> NatsJobQueue::recent(int limit, std::optional<JobState> state) {
    return m_impl->store.recent(limit, state);
}

JobRecord NatsJobQueue::retry(const std::string& id) {
    std::shared_lock lock(m_impl->life);
    m_impl->require_started();
    auto stored = m_impl->store.get(id);
    if (!stored) throw Error(ErrorKind::not_found, "no job '" + id + "'");
    JobRecord r = *stored;
    if (r.status != JobState::failed && r.status != JobState::cancelled)
        throw Error(ErrorKind::conflict, "job '" + id + "' is " + core::to_string(r.status) +
                                             ", not FAILED or CANCELLED");
    check_queue_name(r.queue);
    // The last error stays visible until the job runs again.
    r.status = JobState::pending;
    r.attempts = 0;
    r.result = nullptr;
    r.enqueued_at = core::now_ms();
    r.started_at = 0;
    r.finished_at = 0;
    m_impl->store.put(r);
    // A new dedup id: the first one may still be inside the server's duplicate window.
    if (auto reason = m_impl->publish(r, id + ".retry." + std::to_string(r.enqueued_at), 0))
        m_impl->not_enqueued(r, *reason);
    return r;
}

JobRecord NatsJobQueue::cancel(const std::string& id) {
    auto stored = m_impl->store.get(id);
    if (!stored) throw Error(ErrorKind::not_found, "no job '" + id + "'");
    JobRecord r = *stored;
    if (r.status != JobState::pending)
        throw Error(ErrorKind::conflict,
                    "job '" + id + "' is " + core::to_string(r.status) + ", not PENDING");
    // The message stays in the stream until it is delivered; fetch() then drops it.
    r.status = JobState::cancelled;
    r.finished_at = core::now_ms();
    m_impl->store.put(r);
    return r;
}

std::unique_ptr<core::JobQueue> make_nats_job_queue(std::string url, core::JobStore& store,
                                                    NatsJobQueueOptions options) {
    return std::make_unique<NatsJobQueue>(std::move(url), store, std::move(options));
}

} // namespace m::adapters::nats
