// What the job queue and the event broker share: one nats.c connection with its JetStream
// context, error texts, and stream creation. Internal to the adapter (nats.h stays in src/).
#pragma once

#include "m/core/error.hpp"

#include <nats/nats.h>

#include <cstdint>
#include <string>
#include <vector>

namespace m::adapters::nats::detail {

/// "Timeout" plus the library's detail and the JetStream error code when there are any.
std::string describe(natsStatus status, jsErrCode code = static_cast<jsErrCode>(0));

/// Statuses that mean "the server is away or restarting" rather than "the request is wrong".
bool is_transient(natsStatus status);

/// Nanoseconds from milliseconds (JetStream configuration is in ns, most calls in ms).
constexpr std::int64_t ns_from_ms(std::int64_t ms) {
    return ms * 1000 * 1000;
}

/// A connection with a JetStream context. Reconnects forever on its own (the library's threads),
/// so that workers and relays survive a nats-server restart. Not copyable; close() is idempotent.
class Connection {
public:
    /// Settings of connect().
    struct Options {
        std::string url;
        std::string name; ///< shown by the server (`/connz`)
        /// Asynchronous publish errors (js_PublishAsync); may be null.
        jsPubAckErrHandler publish_error = nullptr;
        void* publish_error_closure = nullptr;
    };

    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() { close(); }

    /// Connects and makes the JetStream context; Error{unavailable} "NATS at <url>: <reason>".
    void connect(const Options& options);
    void close() noexcept;

    natsConnection* nc() const noexcept { return m_nc; }
    jsCtx* js() const noexcept { return m_js; }
    bool connected() const noexcept;
    const std::string& url() const noexcept { return m_url; }

    /// Error{unavailable} "NATS at <url>: <what>: <describe(status, code)>".
    [[noreturn]] void fail(const std::string& what, natsStatus status,
                           jsErrCode code = static_cast<jsErrCode>(0)) const;

    /// Creates the stream, or accepts one of that name that exists already (its configuration
    /// is left as it is).
    void ensure_stream(jsStreamConfig& config);

private:
    std::string m_url;
    natsConnection* m_nc = nullptr;
    jsCtx* m_js = nullptr;
};

} // namespace m::adapters::nats::detail
