#include "nats_connection.hpp"

#include <string_view>

namespace m::adapters::nats::detail {

std::string describe(natsStatus status, jsErrCode code) {
    std::string text = natsStatus_GetText(status);
    // The thread's last error often says more ("stream not found", "no responders ..."); it is
    // only meaningful right after the failing call, which is where describe() is used.
    const char* last = nats_GetLastError(nullptr);
    if (last && *last && std::string_view(last) != text) text += std::string(": ") + last;
    if (code != 0) text += " (JetStream error " + std::to_string(static_cast<int>(code)) + ")";
    return text;
}

bool is_transient(natsStatus status) {
    switch (status) {
    case NATS_TIMEOUT:
    case NATS_NO_RESPONDERS:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NO_SERVER:
    case NATS_STALE_CONNECTION:
    case NATS_IO_ERROR:
    case NATS_NOT_YET_CONNECTED:
        return true;
    default:
        return false;
    }
}

void Connection::connect(const Options& options) {
    m_url = options.url;
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, options.url.c_str());
    if (s == NATS_OK) s = natsOptions_SetName(opts, options.name.c_str());
    // Reconnect forever, quickly: a worker must outlive a nats-server restart. Requests made
    // while reconnecting wait in the library's reconnect buffer or time out (jsOptions.Wait).
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
    if (s != NATS_OK) {
        natsOptions_Destroy(opts);
        fail("bad connection options", s);
    }
    s = natsConnection_Connect(&m_nc, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
        std::string reason = describe(s);
        close();
        throw core::Error(core::ErrorKind::unavailable,
                          "NATS at " + m_url + ": cannot connect: " + reason);
    }

    jsOptions jo;
    jsOptions_Init(&jo);
    // Batched publishes (enqueue_many, event relay) keep up to this many unacknowledged
    // messages in flight; a full window waits up to StallWait instead of failing at once.
    jo.PublishAsync.MaxPending = 4096;
    jo.PublishAsync.StallWait = 5000;
    jo.PublishAsync.ErrHandler = options.publish_error;
    jo.PublishAsync.ErrHandlerClosure = options.publish_error_closure;
    s = natsConnection_JetStream(&m_js, m_nc, &jo);
    if (s != NATS_OK) {
        std::string reason = describe(s);
        close();
        throw core::Error(core::ErrorKind::unavailable,
                          "NATS at " + m_url + ": no JetStream context: " + reason);
    }
}

void Connection::close() noexcept {
    if (m_js) {
        jsCtx_Destroy(m_js);
        m_js = nullptr;
    }
    if (m_nc) {
        // Flushes what is buffered (acks) and closes; nats_Close() is left to the process: it
        // would tear down the library under every other connection of the process.
        natsConnection_Close(m_nc);
        natsConnection_Destroy(m_nc);
        m_nc = nullptr;
    }
}

bool Connection::connected() const noexcept {
    return m_nc && natsConnection_Status(m_nc) == NATS_CONN_STATUS_CONNECTED;
}

void Connection::fail(const std::string& what, natsStatus status, jsErrCode code) const {
    throw core::Error(core::ErrorKind::unavailable,
                      "NATS at " + m_url + ": " + what + ": " + describe(status, code));
}

void Connection::ensure_stream(jsStreamConfig& config) {
    jsStreamInfo* info = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s = js_AddStream(&info, m_js, &config, nullptr, &code);
    if (info) jsStreamInfo_Destroy(info);
    // The server answers OK for an identical configuration and JSStreamNameExistErr for a
    // different one (an operator may have tuned limits): both mean the stream is there.
    if (s == NATS_OK || code == JSStreamNameExistErr) return;
    fail(std::string("cannot create stream '") + config.Name + "'", s, code);
}

} // namespace m::adapters::nats::detail
