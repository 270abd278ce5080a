#include "m/adapters/nats/nats_event_broker.hpp"

#include "m/adapters/nats/nats.hpp"
#include "m/core/error.hpp"
#include "nats_connection.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <utility>

namespace m::adapters::nats {

using core::Error;
using core::ErrorKind;

namespace {

constexpr const char* k_stream = "events";
constexpr const char* k_outbox_id = "M-Outbox-Id";
/// How long publish() waits for the acks of its last asynchronous publishes.
constexpr int k_ack_wait_ms = 10000;
/// How long stop() waits for a handler call in progress.
constexpr int k_drain_wait_ms = 5000;

} // namespace

struct NatsEventBroker::Impl {
    std::string url;
    detail::Connection conn;
    std::mutex mutex; ///< handler, sub, started, closed
    std::function<void(const core::DocEvent&)> handler;
    natsSubscription* sub = nullptr;
    bool started = false;
    bool closed = true; ///< set when the subscription's last callback has returned
    std::condition_variable closed_cv;

    // One publish() at a time: asynchronous publish errors arrive for the whole JetStream
    // context, and this list collects them for the running call.
    std::mutex publish_mutex;
    std::mutex errors_mutex;
    std::vector<std::string> async_errors;

    explicit Impl(std::string u) : url(std::move(u)) {}

    static void on_publish_error(jsCtx*, jsPubAckErr* pae, void* closure) {
        auto* self = static_cast<Impl*>(closure);
        std::string reason = pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err);
        const char* id = nullptr;
        if (pae->Msg) natsMsgHeader_Get(pae->Msg, k_outbox_id, &id);
        try {
            std::lock_guard lock(self->errors_mutex);
            self->async_errors.push_back("outbox " + std::string(id ? id : "?") + ": " + reason);
        } catch (const std::exception&) {
            // Out of memory: PublishAsyncComplete still reports the batch as failed.
        }
    }

    static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
        // A C callback on a library thread: nothing may throw out of it, and one bad message
        // must not stop the stream.
        auto* self = static_cast<Impl*>(closure);
        std::string subject = natsMsg_GetSubject(msg) ? natsMsg_GetSubject(msg) : "?";
        try {
            std::function<void(const core::DocEvent&)> h;
            {
                std::lock_guard lock(self->mutex);
                h = self->handler;
            }
            if (h) {
                auto wire = core::Json::parse(std::string(
                    natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg))));
                h(core::DocEvent::from_wire(wire));
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "m: NATS events: skipped a message on %s: %s\n", subject.c_str(),
                         e.what());
        } catch (...) {
            std::fprintf(stderr, "m: NATS events: skipped a message on %s: unknown exception\n",
                         subject.c_str());
        }
        natsMsg_Destroy(msg);
    }

    static void on_complete(void* closure) {
        auto* self = static_cast<Impl*>(closure);
        std::lock_guard lock(self->mutex);
        self->closed = true;
        self->closed_cv.notify_all();
    }

    /// Subscribes when started with a handler and not subscribed yet. Call with `mutex` held.
    void subscribe_locked() {
        if (!started || !handler || sub) return;
        jsSubOptions so;
        jsSubOptions_Init(&so);
        // Ordered: an ephemeral consumer without acks that the library re-creates from the last
        // sequence it saw whenever it notices a gap or missed heartbeats (a server restart).
        so.Ordered = true;
        so.Config.DeliverPolicy = js_DeliverNew;
        // Missed heartbeats are how a lost consumer is noticed: keep that short.
        so.Config.Heartbeat = detail::ns_from_ms(1000);
        std::string subjects = std::string(k_stream) + ".>";
        jsErrCode code = static_cast<jsErrCode>(0);
        natsSubscription* s = nullptr;
        natsStatus st = js_Subscribe(&s, conn.js(), subjects.c_str(), &Impl::on_message, this,
                                     nullptr, &so, &code);
        if (st != NATS_OK) conn.fail("cannot subscribe to '" + subjects + "'", st, code);
        closed = false;
        natsSubscription_SetOnCompleteCB(s, &Impl::on_complete, this);
        sub = s;
    }
};

NatsEventBroker::NatsEventBroker(std::string url)
    : m_impl(std::make_unique<Impl>(std::move(url))) {}

NatsEventBroker::~NatsEventBroker() {
    stop();
}

std::string NatsEventBroker::service_name() const {
    return "event broker (NATS)";
}

void NatsEventBroker::start() {
    auto& impl = *m_impl;
    {
        std::lock_guard lock(impl.mutex);
        if (impl.started) return;
    }
    detail::Connection::Options co;
    co.url = impl.url;
    co.name = "m events";
    co.publish_error = &Impl::on_publish_error;
    co.publish_error_closure = &impl;
    impl.conn.connect(co);
    try {
        std::string subjects = std::string(k_stream) + ".>";
        const char* subject_list[] = {subjects.c_str()};
        jsStreamConfig sc;
        jsStreamConfig_Init(&sc);
        sc.Name = k_stream;
        sc.Subjects = subject_list;
        sc.SubjectsLen = 1;
        // Limits: every subscriber reads every event; an hour is enough for any reader to
        // catch up, and the database outbox stays the record.
        sc.Retention = js_LimitsPolicy;
        sc.Storage = js_FileStorage;
        sc.MaxAge = detail::ns_from_ms(60 * 60 * 1000);
        sc.Duplicates = detail::ns_from_ms(10 * 60 * 1000);
        impl.conn.ensure_stream(sc);
        std::lock_guard lock(impl.mutex);
        impl.started = true;
        impl.subscribe_locked();
    } catch (const Error&) {
        std::lock_guard lock(impl.mutex);
        impl.started = false;
        impl.conn.close();
        throw;
    }
}

void NatsEventBroker::stop() noexcept {
    auto& impl = *m_impl;
    natsSubscription* sub = nullptr;
    {
        std::lock_guard lock(impl.mutex);
        if (!impl.started) return;
        impl.started = false;
        sub = std::exchange(impl.sub, nullptr);
    }
    if (sub) {
        // Drain lets a handler call in progress finish; plain unsubscribe when the server is
        // away. Either way the completion callback says when no callback can run any more.
        if (natsSubscription_Drain(sub) != NATS_OK) natsSubscription_Unsubscribe(sub);
        std::unique_lock lock(impl.mutex);
        impl.closed_cv.wait_for(lock, std::chrono::milliseconds(k_drain_wait_ms),
                                [&] { return impl.closed; });
        lock.unlock();
        natsSubscription_Destroy(sub);
    }
    impl.conn.close();
}

void NatsEventBroker::check() {
    auto& impl = *m_impl;
    {
        std::lock_guard lock(impl.mutex);
        if (!impl.started)
            throw Error(ErrorKind::unavailable,
                        "NATS at " + impl.url + ": the event broker is not started");
    }
    if (!impl.conn.connected())
        throw Error(ErrorKind::unavailable,
                    "NATS at " + impl.url + ": not connected (reconnecting)");
    jsStreamInfo* info = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&info, impl.conn.js(), k_stream, nullptr, &code);
    jsStreamInfo_Destroy(info);
    if (s != NATS_OK) impl.conn.fail(std::string("cannot read stream '") + k_stream + "'", s, code);
}

void NatsEventBroker::publish(const std::vector<core::OutboxEvent>& events) {
    auto& impl = *m_impl;
    {
        std::lock_guard lock(impl.mutex);
        if (!impl.started)
            throw Error(ErrorKind::unavailable,
                        "NATS at " + impl.url + ": the event broker is not started");
    }
    if (events.empty()) return;
    if (!impl.conn.connected())
        throw Error(ErrorKind::unavailable,
                    "NATS at " + impl.url + ": events not published: not connected (reconnecting)");

    std::lock_guard batch(impl.publish_mutex);
    {
        std::lock_guard lock(impl.errors_mutex);
        impl.async_errors.clear();
    }
    std::string failure;
    for (const auto& e : events) {
        std::string subject = std::string(k_stream) + "." + e.event.topic;
        std::string data = e.event.to_wire().dump();
        std::string id = std::to_string(e.outbox_id);
        std::string msg_id = "outbox-" + e.event.source + "-" + id;
        natsMsg* msg = nullptr;
        natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(),
                                      static_cast<int>(data.size()));
        if (s == NATS_OK) s = natsMsgHeader_Set(msg, k_outbox_id, id.c_str());
        if (s == NATS_OK) {
            jsPubOptions po;
            jsPubOptions_Init(&po);
            po.MsgId = msg_id.c_str();
            s = js_PublishMsgAsync(impl.conn.js(), &msg, &po);
        }
        if (s != NATS_OK) {
            natsMsg_Destroy(msg); // still ours when a call failed (null after a handover)
            failure = "outbox " + id + " (" + subject + "): " + detail::describe(s);
            break;
        }
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = k_ack_wait_ms;
    natsStatus done = js_PublishAsyncComplete(impl.conn.js(), &po);
    if (done != NATS_OK) {
        // The library forgets what is still unacknowledged once it is handed back here.
        natsMsgList pending{};
        if (js_PublishAsyncGetPendingList(&pending, impl.conn.js()) == NATS_OK)
            natsMsgList_Destroy(&pending);
        if (failure.empty())
            failure = "no acknowledgement within " + std::to_string(k_ack_wait_ms / 1000) +
                      " s: " + detail::describe(done);
    }
    {
        std::lock_guard lock(impl.errors_mutex);
        if (failure.empty() && !impl.async_errors.empty()) failure = impl.async_errors.front();
    }
    if (!failure.empty())
        throw Error(ErrorKind::unavailable,
                    "NATS at " + impl.url + ": events not published: " + failure);
}

void NatsEventBroker::subscribe(std::function<void(const core::DocEvent&)> handler) {
    auto& impl = *m_impl;
    std::lock_guard lock(impl.mutex);
    impl.handler = std::move(handler);
    impl.subscribe_locked();
}

std::unique_ptr<core::EventBroker> make_nats_event_broker(std::string url) {
    return std::make_unique<NatsEventBroker>(std::move(url));
}

} // namespace m::adapters::nats
