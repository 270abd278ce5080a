// Delivering jobs from NATS: one durable pull consumer per queue shared by every worker; each
// delivered message is checked against the stored record (due yet, retried since, already
// settled, out of attempts) before it becomes a lease, and settled by ack, nak or discard.
#include "nats_job_queue_impl.hpp"

#include "m/adapters/nats/nats.hpp"
#include "m/core/error.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
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

/// A delivered message held by a Lease.
struct Delivery {
    natsMsg* msg = nullptr;
    std::uint64_t stream_seq = 0;

    explicit Delivery(natsMsg* m) : msg(m) {}
    Delivery(const Delivery&) = delete;
    Delivery& operator=(const Delivery&) = delete;
    ~Delivery() { natsMsg_Destroy(msg); }
};

Delivery& delivery_of(core::Lease& lease) {
    if (!lease.handle)
        throw Error(ErrorKind::internal, "lease of job '" + lease.job.id + "' has no NATS message");
    return *static_cast<Delivery*>(lease.handle.get());
}

std::optional<std::int64_t> int_header(natsMsg* msg, const char* key) {
    auto text = header(msg, key);
    if (!text) return std::nullopt;
    char* end = nullptr;
    long long v = std::strtoll(text->c_str(), &end, 10);
    if (end == text->c_str() || *end != '\0') return std::nullopt;
    return v;
}

/// Whether a message published for generation `published` belongs to a job retried since
/// (stored generation `current`). A store that kept coarser times would only err towards "not
/// stale", which is the old behaviour: the job runs once, and the other message finds SUCCESS.
bool is_stale(std::int64_t published, std::int64_t current) {
    return published < current;
}

} // namespace

natsSubscription* NatsJobQueue::Impl::subscription(const std::string& queue) {
    std::lock_guard lock(subs_mutex);
    if (auto it = subs.find(queue); it != subs.end()) return it->second;
    // Requests made while disconnected wait out the full JetStream timeout (5 s); a worker
    // polling during an outage should come back quickly instead.
    if (!conn.connected()) return nullptr;

    std::string subject = subject_of(queue);
    std::string name = consumer_of(queue);
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = name.c_str();
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = detail::ns_from_ms(options.ack_wait.count());
    // Unlimited: one consumer serves every job of the queue, and jobs differ in how often
    // they may run. fetch() enforces each job's max_attempts from the store instead.
    cc.MaxDeliver = -1;
    cc.MaxAckPending = 20000;
    cc.FilterSubject = subject.c_str();
    jsConsumerInfo* info = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s = js_AddConsumer(&info, conn.js(), k_stream, &cc, nullptr, &code);
    jsConsumerInfo_Destroy(info);
    info = nullptr;
    if (s != NATS_OK) {
        if (detail::is_transient(s) || !conn.connected()) return nullptr;
        // nats-server 2.9 updates an existing durable with editable changes (AckWait) and
        // refuses others (an operator's or another version's settings): then use it as is.
        jsErrCode code2 = static_cast<jsErrCode>(0);
        natsStatus exists =
            js_GetConsumerInfo(&info, conn.js(), k_stream, name.c_str(), nullptr, &code2);
        jsConsumerInfo_Destroy(info);
        if (exists != NATS_OK) conn.fail("cannot create consumer '" + name + "'", s, code);
    }

    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = k_stream;
    so.Consumer = name.c_str();
    natsSubscription* sub = nullptr;
    code = static_cast<jsErrCode>(0);
    s = js_PullSubscribe(&sub, conn.js(), subject.c_str(), name.c_str(), nullptr, &so, &code);
    if (s != NATS_OK) {
        if (detail::is_transient(s) || !conn.connected()) return nullptr;
        conn.fail("cannot subscribe to consumer '" + name + "'", s, code);
    }
    subs.emplace(queue, sub);
    return sub;
}

void NatsJobQueue::Impl::drop_subscription(const std::string& queue) {
    std::lock_guard lock(subs_mutex);
    if (auto it = subs.find(queue); it != subs.end()) {
        natsSubscription_Destroy(it->second);
        subs.erase(it);
    }
}

void NatsJobQueue::Impl::discard(natsMsg* msg, std::uint64_t stream_seq) {
    natsMsg_Term(msg, nullptr);
    if (stream_seq != 0) {
        jsErrCode code = static_cast<jsErrCode>(0);
        js_DeleteMsg(conn.js(), k_stream, stream_seq, nullptr, &code);
    }
}

std::optional<core::Lease> NatsJobQueue::Impl::accept(natsMsg* raw) {
    auto delivery = std::make_shared<Delivery>(raw);
    natsMsg* msg = raw;
    int delivered = 1;
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        delivery->stream_seq = meta->Sequence.Stream;
        delivered = static_cast<int>(meta->NumDelivered);
        jsMsgMetaData_Destroy(meta);
    }

    // Not due yet: back to the stream for the time that is left.
    if (auto not_before = int_header(msg, k_not_before)) {
        std::int64_t left = *not_before - core::now_ms();
        if (left > 0) {
            natsMsg_NakWithDelay(msg, left, nullptr);
            return std::nullopt;
        }
    }

    JobRecord sent;
    try {
        sent = JobRecord::from_json(Json::parse(std::string(
            natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)))));
    } catch (const std::exception&) {
        // Not a job (written by something else): it can never run.
        discard(msg, delivery->stream_seq);
        return std::nullopt;
    }

    auto stored = store.get(sent.id);
    // A store that lost the record (Redis flushed): the message has all that is needed.
    JobRecord r = stored ? *stored : sent;
    auto generation = int_header(msg, k_generation);
    if (stored && generation && is_stale(*generation, r.enqueued_at)) {
        discard(msg, delivery->stream_seq); // retried since: the newer message runs it
        return std::nullopt;
    }
    switch (r.status) {
    case JobState::success:
        // Ran already; its ack was lost. Never run twice after success.
        natsMsg_Ack(msg, nullptr);
        return std::nullopt;
    case JobState::cancelled:
    case JobState::failed: // dead-lettered already (its delete was lost)
        discard(msg, delivery->stream_seq);
        return std::nullopt;
    case JobState::pending:
    case JobState::running:
        break;
    }

    // Runs are counted in the store, not with NumDelivered: delayed messages are delivered
    // (and nak'ed) before they are due, which NumDelivered counts too. A RUNNING record
    // delivered again means its worker crashed or let the ack wait pass.
    int attempt = r.attempts + 1;
    if (attempt > r.max_attempts) {
        r.status = JobState::failed;
        r.error = "gave up after " + std::to_string(delivered - 1) +
                  " deliveries (worker crashed or timed out)" +
                  (r.error.empty() ? "" : "; last error: " + r.error);
        r.finished_at = core::now_ms();
        store.put(r);
        discard(msg, delivery->stream_seq);
        return std::nullopt;
    }
    r.status = JobState::running;
    r.attempts = attempt;
    r.started_at = core::now_ms();
    r.finished_at = 0;
    store.put(r);
    return core::Lease{std::move(r), delivered, std::move(delivery)};
}

std::vector<core::Lease> NatsJobQueue::fetch(const std::string& queue, int max, int wait_ms) {
    check_queue_name(queue);
    if (max < 1) return {};
    auto pause = [wait_ms] {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::clamp(wait_ms, 10, 250)));
    };
    std::shared_lock lock(m_impl->life);
    m_impl->require_started();
    auto& impl = *m_impl;
    natsSubscription* sub = impl.subscription(queue);
    if (!sub) {
        pause();
        return {};
    }

    natsMsgList list{};
    jsErrCode code = static_cast<jsErrCode>(0);
    // Fetch needs a timeout. For "no wait" a short one: it returns at once with what is there
    // (for a batch > 1 the library asks without waiting first). nats.c's NoWait fetch requests
    // proved unreliable in 3.4.1 (answers of one request ending up in the next).
    natsStatus s = natsSubscription_Fetch(&list, sub, max, wait_ms > 0 ? wait_ms : 50, &code);
    if (list.Count == 0) {
        natsMsgList_Destroy(&list);
        if (s == NATS_OK || s == NATS_TIMEOUT || s == NATS_NOT_FOUND) return {};
        if (detail::is_transient(s) || !impl.conn.connected()) {
            pause();
            return {};
        }
        std::string reason = detail::describe(s, code);
        impl.drop_subscription(queue); // bound again (consumer re-created) on the next fetch
        throw Error(ErrorKind::unavailable, "NATS at " + impl.url + ": cannot fetch from '" +
                                                consumer_of(queue) + "': " + reason);
    }

    // The leases own their messages from here on.
    std::vector<natsMsg*> msgs(list.Msgs, list.Msgs + list.Count);
    for (int i = 0; i < list.Count; ++i) list.Msgs[i] = nullptr;
    natsMsgList_Destroy(&list);

    std::vector<core::Lease> leases;
    std::optional<Error> store_error;
    for (natsMsg* msg : msgs) {
        if (store_error) {
            // The store is failing: leave the rest for a later delivery.
            natsMsg_NakWithDelay(msg, 1000, nullptr);
            natsMsg_Destroy(msg);
            continue;
        }
        try {
            if (auto lease = impl.accept(msg)) leases.push_back(std::move(*lease));
        } catch (const Error& e) {
            // accept() owned the message; unacked, it comes back after the ack wait.
            store_error = e;
        }
    }
    if (leases.empty() && store_error) throw *store_error;
    return leases;
}

void NatsJobQueue::heartbeat(core::Lease& lease) {
    Delivery& d = delivery_of(lease);
    std::shared_lock lock(m_impl->life);
    // A failure (broker away) is not the job's: the job keeps running, and at worst it is
    // delivered again after the ack wait, where the stored status decides.
    if (m_impl->started) natsMsg_InProgress(d.msg, nullptr);
}

void NatsJobQueue::succeed(core::Lease& lease, const Json& result) {
    Delivery& d = delivery_of(lease);
    JobRecord r = lease.job;
    r.status = JobState::success;
    r.result = result;
    r.error.clear();
    r.finished_at = core::now_ms();
    // Stored before the ack: a crash in between redelivers the message, and fetch() sees
    // SUCCESS and drops it.
    m_impl->store.put(r);
    lease.job = r;
    std::shared_lock lock(m_impl->life);
    if (!m_impl->started) return;
    // Not AckSync: waiting for the server's confirmation would cost a round trip per job, and a
    // lost ack (broker restarting) is settled on redelivery by the SUCCESS check in fetch().
    natsMsg_Ack(d.msg, nullptr);
}

void NatsJobQueue::fail(core::Lease& lease, const std::string& error, bool retry) {
    Delivery& d = delivery_of(lease);
    JobRecord r = lease.job;
    r.error = error;
    bool again = retry && r.attempts < r.max_attempts;
    if (again) {
        r.status = JobState::pending;
    } else {
        r.status = JobState::failed;
        r.finished_at = core::now_ms();
    }
    m_impl->store.put(r);
    lease.job = r;
    std::shared_lock lock(m_impl->life);
    if (!m_impl->started) return;
    if (again) {
        natsMsg_NakWithDelay(d.msg, core::retry_backoff_ms(r.attempts), nullptr);
    } else {
        // The dead letter is the FAILED record (with its kwargs); retry() publishes it anew.
        m_impl->discard(d.msg, d.stream_seq);
    }
}

} // namespace m::adapters::nats
