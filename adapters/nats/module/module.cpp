// Entry points of m-nats.so (see module.hpp).
#include "m/adapters/nats/module.hpp"

#include "m/adapters/nats/nats.hpp"
#include "m/core/error.hpp"

#include <cstring>

namespace {

void copy_message(const char* text, char* out, std::size_t size) {
    if (size == 0) return;
    std::strncpy(out, text, size - 1);
    out[size - 1] = '\0';
}

/// Runs `make`, turning exceptions into the module's return codes.
template <class Fn> int guarded(char* message, std::size_t size, Fn&& make) {
    try {
        make();
        return 0;
    } catch (const m::core::Error& e) {
        copy_message(e.what(), message, size);
        return 1 + static_cast<int>(e.kind());
    } catch (const std::exception& e) {
        copy_message(e.what(), message, size);
        return 1 + static_cast<int>(m::core::ErrorKind::internal);
    }
}

} // namespace

extern "C" {

__attribute__((visibility("default"))) const char* m_nats_module_version() {
    return M_VERSION;
}

__attribute__((visibility("default"))) int
m_nats_create_job_queue(const char* url, long long ack_wait_ms, m::core::JobStore* store,
                        m::core::JobQueue** out, char* message, std::size_t message_size) {
    return guarded(message, message_size, [&] {
        if (!url || !store || !out)
            throw m::core::Error(m::core::ErrorKind::internal,
                                 "m_nats_create_job_queue: null argument");
        m::adapters::nats::NatsJobQueueOptions options;
        if (ack_wait_ms > 0) options.ack_wait = std::chrono::milliseconds(ack_wait_ms);
        *out = new m::adapters::nats::NatsJobQueue(url, *store, options);
    });
}

__attribute__((visibility("default"))) int m_nats_create_event_broker(const char* url,
                                                                      m::core::EventBroker** out,
                                                                      char* message,
                                                                      std::size_t message_size) {
    return guarded(message, message_size, [&] {
        if (!url || !out)
            throw m::core::Error(m::core::ErrorKind::internal,
                                 "m_nats_create_event_broker: null argument");
        *out = new m::adapters::nats::NatsEventBroker(url);
    });
}
}
