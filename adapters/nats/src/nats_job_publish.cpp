// Enqueueing on NATS: the record is stored first (put_if_absent), then its message is published
// with the job id as Nats-Msg-Id, so JetStream drops a second publish of the same job.
#include "nats_job_queue_impl.hpp"

#include "m/adapters/nats/nats.hpp"
#include "m/core/error.hpp"

#include <chrono>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>

namespace m::adapters::nats {

using namespace job_queue;
using core::Error;
using core::ErrorKind;
using core::JobRecord;
using core::JobState;
using core::Json;

namespace {

/// How long enqueue waits for a reconnect in progress before reporting the broker away.
constexpr int k_reconnect_grace_ms = 1000;
/// How long enqueue_many waits for the acks of its last asynchronous publishes.
constexpr int k_batch_ack_wait_ms = 10000;

} // namespace

void NatsJobQueue::Impl::on_publish_error(jsCtx*, jsPubAckErr* pae, void* closure) {
    // A C callback: nothing may throw out of it.
    auto* self = static_cast<Impl*>(closure);
    std::string reason = pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err);
    const char* id = nullptr;
    if (pae->Msg) natsMsgHeader_Get(pae->Msg, k_job_id, &id);
    try {
        std::lock_guard lock(self->errors_mutex);
        self->async_errors.emplace_back(id ? id : "", reason);
    } catch (const std::exception&) {
        // Out of memory: the job stays PENDING in the store without a message; the batch
        // still fails as a whole when PublishAsyncComplete sees the error count.
    }
}

std::optional<std::string> NatsJobQueue::Impl::wait_connected() const {
    for (int waited = 0; !conn.connected(); waited += 50) {
        if (waited >= k_reconnect_grace_ms)
            return std::string("not connected (the server is unreachable; reconnecting)");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
}

JobRecord NatsJobQueue::Impl::new_record(const core::JobDef& def, const Json& kwargs,
                                         std::string id) const {
    if (!kwargs.is_object())
        throw Error(ErrorKind::validation,
                    "job '" + def.name + "': kwargs must be a JSON object, got " + kwargs.dump());
    check_queue_name(def.queue);
    JobRecord r;
    r.id = id.empty() ? core::new_uuid() : std::move(id);
    r.name = def.name;
    r.queue = def.queue;
    r.status = JobState::pending;
    r.attempts = 0;
    r.max_attempts = def.retries + 1;
    r.timeout = def.timeout;
    r.kwargs = kwargs;
    r.enqueued_at = core::now_ms();
    return r;
}

natsMsg* NatsJobQueue::Impl::make_message(const JobRecord& r, std::int64_t not_before) const {
    std::string subject = subject_of(r.queue);
    std::string data = r.to_json().dump();
    natsMsg* msg = nullptr;
    natsStatus s =
        natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, k_job_id, r.id.c_str());
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, k_generation, std::to_string(r.enqueued_at).c_str());
    if (s == NATS_OK && not_before > 0)
        s = natsMsgHeader_Set(msg, k_not_before, std::to_string(not_before).c_str());
    if (s != NATS_OK) {
        natsMsg_Destroy(msg);
        conn.fail("cannot build the message of job '" + r.id + "'", s);
    }
    return msg;
}

std::optional<std::string> NatsJobQueue::Impl::publish(const JobRecord& r,
                                                       const std::string& msg_id,
                                                       std::int64_t not_before) {
    if (auto away = wait_connected()) return away;
    natsMsg* msg = make_message(r, not_before);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id.c_str();
    jsPubAck* ack = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s = js_PublishMsg(&ack, conn.js(), msg, &po, &code);
    std::optional<std::string> reason;
    if (s != NATS_OK) reason = detail::describe(s, code);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(msg);
    return reason;
}

std::map<std::string, std::string>
NatsJobQueue::Impl::publish_batch(const std::vector<JobRecord>& fresh) {
    {
        std::lock_guard errors(errors_mutex);
        async_errors.clear();
    }
    std::map<std::string, std::string> failed; // job id -> reason
    if (auto away = wait_connected()) {
        for (const auto& r : fresh) failed.emplace(r.id, *away);
        return failed;
    }
    for (std::size_t sent = 0; sent < fresh.size(); ++sent) {
        const JobRecord& r = fresh[sent];
        natsMsg* msg = make_message(r, 0);
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MsgId = r.id.c_str();
        natsStatus s = js_PublishMsgAsync(conn.js(), &msg, &po);
        if (s != NATS_OK) {
            natsMsg_Destroy(msg); // still ours when the call failed
            std::string reason = detail::describe(s);
            for (std::size_t i = sent; i < fresh.size(); ++i) failed.emplace(fresh[i].id, reason);
            break;
        }
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = k_batch_ack_wait_ms;
    if (js_PublishAsyncComplete(conn.js(), &po) != NATS_OK) {
        // Whatever is still unacknowledged is given up (the library forgets it too).
        natsMsgList pending{};
        if (js_PublishAsyncGetPendingList(&pending, conn.js()) == NATS_OK) {
            for (int i = 0; i < pending.Count; ++i) {
                if (auto id = header(pending.Msgs[i], k_job_id))
                    failed.emplace(*id, "no acknowledgement within " +
                                            std::to_string(k_batch_ack_wait_ms / 1000) + " s");
            }
            natsMsgList_Destroy(&pending);
        }
    }
    std::lock_guard errors(errors_mutex);
    for (auto& [id, reason] : async_errors) failed.emplace(id, reason);
    return failed;
}

void NatsJobQueue::Impl::not_enqueued(JobRecord r, const std::string& reason) {
    r.status = JobState::failed;
    r.error = "not enqueued: " + reason;
    r.finished_at = core::now_ms();
    store.put(r);
    throw Error(ErrorKind::unavailable,
                "NATS at " + url + ": job '" + r.id + "' (" + r.name + ") not enqueued: " + reason);
}

JobRecord NatsJobQueue::enqueue(const core::JobDef& def, const Json& kwargs,
                                const core::EnqueueOptions& options) {
    std::shared_lock lock(m_impl->life);
    m_impl->require_started();
    JobRecord r = m_impl->new_record(def, kwargs, options.id);
    auto existing = m_impl->store.put_if_absent(r);
    if (options.created) *options.created = !existing;
    if (existing) return *existing;
    std::int64_t not_before = options.delay_ms > 0 ? r.enqueued_at + options.delay_ms : 0;
    if (auto reason = m_impl->publish(r, r.id, not_before)) m_impl->not_enqueued(r, *reason);
    return r;
}

std::vector<JobRecord> NatsJobQueue::enqueue_many(const core::JobDef& def,
                                                  const std::vector<Json>& kwargs) {
    std::shared_lock lock(m_impl->life);
    m_impl->require_started();
    auto& impl = *m_impl;
    std::vector<JobRecord> records;
    records.reserve(kwargs.size());
    for (const auto& k : kwargs) records.push_back(impl.new_record(def, k, ""));

    // Status first: a worker that gets a message always finds its record.
    std::vector<JobRecord> fresh;
    fresh.reserve(records.size());
    for (auto& r : records) {
        if (auto existing = impl.store.put_if_absent(r))
            r = *existing;
        else
            fresh.push_back(r);
    }
    if (fresh.empty()) return records;

    std::lock_guard batch(impl.batch_mutex);
    const std::map<std::string, std::string> failed = impl.publish_batch(fresh);
    if (failed.empty()) return records;

    std::string first_reason = failed.begin()->second;
    for (auto& r : records) {
        auto it = failed.find(r.id);
        if (it == failed.end()) continue;
        r.status = JobState::failed;
        r.error = "not enqueued: " + it->second;
        r.finished_at = core::now_ms();
        impl.store.put(r);
    }
    throw Error(ErrorKind::unavailable, "NATS at " + impl.url + ": " +
                                            std::to_string(failed.size()) + " of " +
                                            std::to_string(records.size()) + " jobs (" + def.name +
                                            ") not enqueued: " + first_reason);
}

} // namespace m::adapters::nats
