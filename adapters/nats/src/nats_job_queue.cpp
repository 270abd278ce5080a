#include "m/adapters/nats/nats_job_queue.hpp"

#include "m/adapters/nats/nats.hpp"
#include "m/core/error.hpp"
#include "nats_connection.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>

namespace m::adapters::nats {

using core::Error;
using core::ErrorKind;
using core::JobRecord;
using core::JobState;
using core::Json;

namespace {

constexpr const char* k_stream = "framework_m_jobs";
/// Unix ms before which the job must not run (delayed enqueue).
constexpr const char* k_not_before = "M-Not-Before";
/// The record's enqueued_at when the message was published: tells an old message of a job that
/// was retried since (a new generation) from the current one.
constexpr const char* k_generation = "M-Enqueued-At";
/// The job id, also for messages whose JSON cannot be read (async publish errors).
constexpr const char* k_job_id = "M-Job-Id";
/// How long enqueue waits for a reconnect in progress before reporting the broker away.
constexpr int k_reconnect_grace_ms = 1000;
/// How long enqueue_many waits for the acks of its last asynchronous publishes.
constexpr int k_batch_ack_wait_ms = 10000;

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

/// Queue names become a subject token and part of a consumer name.
void check_queue_name(const std::string& queue) {
    bool ok = !queue.empty() && queue.size() <= 100 &&
              std::all_of(queue.begin(), queue.end(),
                          [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
    if (!ok)
        throw Error(ErrorKind::validation,
                    "queue '" + queue + "': NATS queue names are letters, digits, '_' and '-'");
}

std::string subject_of(const std::string& queue) {
    return std::string(k_stream) + "." + queue;
}
std::string consumer_of(const std::string& queue) {
    return "workers_" + queue;
}

std::optional<std::string> header(natsMsg* msg, const char* key) {
    const char* value = nullptr;
    if (natsMsgHeader_Get(msg, key, &value) != NATS_OK || !value) return std::nullopt;
    return std::string(value);
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

struct NatsJobQueue::Impl {
    std::string url;
    core::JobStore& store;
    NatsJobQueueOptions options;
    detail::Connection conn;

    // Worker threads ack while stop() may tear the connection down: they hold this shared, stop()
    // exclusively, and acks after stop() are skipped (the jobs come back after the ack wait).
    std::shared_mutex life;
    bool started = false;

    std::mutex subs_mutex;
    std::map<std::string, natsSubscription*> subs; ///< queue -> pull subscription

    // enqueue_many runs one batch at a time: asynchronous publish errors arrive on a library
    // thread for the whole JetStream context, and this list collects them for the running batch.
    std::mutex batch_mutex;
    std::mutex errors_mutex;
    std::vector<std::pair<std::string, std::string>> async_errors; ///< job id, reason

    Impl(std::string u, core::JobStore& s, NatsJobQueueOptions o)
        : url(std::move(u)), store(s), options(std::move(o)) {}

    static void on_publish_error(jsCtx*, jsPubAckErr* pae, void* closure) {
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

    void require_started() const {
        if (!started)
            throw Error(ErrorKind::unavailable,
                        "NATS at " + url + ": the job queue is not started");
    }

    /// Gives a reconnect in progress a moment, then names the broker as away.
    std::optional<std::string> wait_connected() const {
        for (int waited = 0; !conn.connected(); waited += 50) {
            if (waited >= k_reconnect_grace_ms)
                return std::string("not connected (the server is unreachable; reconnecting)");
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return std::nullopt;
    }

    JobRecord new_record(const core::JobDef& def, const Json& kwargs, std::string id) const {
        if (!kwargs.is_object())
            throw Error(ErrorKind::validation, "job '" + def.name +
                                                   "': kwargs must be a JSON object, got " +
                                                   kwargs.dump());
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

    /// The message of a record: its JSON, plus headers for what fetch() checks before parsing.
    natsMsg* make_message(const JobRecord& r, std::int64_t not_before) const {
        std::string subject = subject_of(r.queue);
        std::string data = r.to_json().dump();
        natsMsg* msg = nullptr;
        natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(),
                                      static_cast<int>(data.size()));
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

    /// Publishes and waits for the ack; the reason of a failure, or nullopt.
    std::optional<std::string> publish(const JobRecord& r, const std::string& msg_id,
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

    /// Marks a record that never reached the broker and throws.
    [[noreturn]] void not_enqueued(JobRecord r, const std::string& reason) {
        r.status = JobState::failed;
        r.error = "not enqueued: " + reason;
        r.finished_at = core::now_ms();
        store.put(r);
        throw Error(ErrorKind::unavailable, "NATS at " + url + ": job '" + r.id + "' (" + r.name +
                                                ") not enqueued: " + reason);
    }

    /// The pull subscription of a queue, creating its consumer on first use. nullptr when the
    /// broker is away right now.
    natsSubscription* subscription(const std::string& queue) {
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

    void drop_subscription(const std::string& queue) {
        std::lock_guard lock(subs_mutex);
        if (auto it = subs.find(queue); it != subs.end()) {
            natsSubscription_Destroy(it->second);
            subs.erase(it);
        }
    }

    /// Removes a message for good: Term stops redelivery, and the delete drops it from the
    /// WorkQueue stream, which keeps termed messages otherwise. Failures are harmless: the
    /// message comes back and fetch() settles it again.
    void discard(natsMsg* msg, std::uint64_t stream_seq) {
        natsMsg_Term(msg, nullptr);
        if (stream_seq != 0) {
            jsErrCode code = static_cast<jsErrCode>(0);
            js_DeleteMsg(conn.js(), k_stream, stream_seq, nullptr, &code);
        }
    }

    /// Turns one delivered message into a lease, or settles it and returns nullopt. Takes
    /// ownership of `msg`.
    std::optional<core::Lease> accept(natsMsg* raw) {
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
};

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
    {
        std::lock_guard errors(impl.errors_mutex);
        impl.async_errors.clear();
    }
    std::map<std::string, std::string> failed; // job id -> reason
    std::size_t sent = 0;
    if (auto away = impl.wait_connected()) {
        for (const auto& r : fresh) failed.emplace(r.id, *away);
    } else {
        for (; sent < fresh.size(); ++sent) {
            const JobRecord& r = fresh[sent];
            natsMsg* msg = impl.make_message(r, 0);
            jsPubOptions po;
            jsPubOptions_Init(&po);
            po.MsgId = r.id.c_str();
            natsStatus s = js_PublishMsgAsync(impl.conn.js(), &msg, &po);
            if (s != NATS_OK) {
                natsMsg_Destroy(msg); // still ours when the call failed
                std::string reason = detail::describe(s);
                for (std::size_t i = sent; i < fresh.size(); ++i)
                    failed.emplace(fresh[i].id, reason);
                break;
            }
        }
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = k_batch_ack_wait_ms;
        if (js_PublishAsyncComplete(impl.conn.js(), &po) != NATS_OK) {
            // Whatever is still unacknowledged is given up (the library forgets it too).
            natsMsgList pending{};
            if (js_PublishAsyncGetPendingList(&pending, impl.conn.js()) == NATS_OK) {
                for (int i = 0; i < pending.Count; ++i) {
                    if (auto id = header(pending.Msgs[i], k_job_id))
                        failed.emplace(*id, "no acknowledgement within " +
                                                std::to_string(k_batch_ack_wait_ms / 1000) + " s");
                }
                natsMsgList_Destroy(&pending);
            }
        }
        std::lock_guard errors(impl.errors_mutex);
        for (auto& [id, reason] : impl.async_errors) failed.emplace(id, reason);
    }
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
