// The C entry points of the loadable NATS module (m-nats.so).
//
// Why a module: libnats brings OpenSSL and protobuf-c; `m` dlopen()s the module only when
// NATS_URL is set, so commands that do not use NATS do not pay for loading them. No exception
// crosses this boundary: failures come back as an ErrorKind and a message.
#pragma once

#include <cstddef>

namespace m::core {
class JobQueue;
class JobStore;
class EventBroker;
} // namespace m::core

extern "C" {

/// Version of m the module was built from; the loader refuses a module of another version.
const char* m_nats_module_version();

/// Creates an unstarted NatsJobQueue for `url` (its ack wait `ack_wait_ms`: the jobs.lease setting;
/// <= 0 = 30 s) into `*out` (owned by the caller, deleted with `delete`), keeping job status in
/// `store` (which must outlive it). Returns 0 on success, otherwise 1 + the core::ErrorKind value,
/// with a message in `message` (NUL-terminated, truncated to `message_size`).
int m_nats_create_job_queue(const char* url, long long ack_wait_ms, m::core::JobStore* store,
                            m::core::JobQueue** out, char* message, std::size_t message_size);

/// Creates an unstarted NatsEventBroker for `url` into `*out` (owned by the caller, deleted with
/// `delete`). Returns like m_nats_create_job_queue.
int m_nats_create_event_broker(const char* url, m::core::EventBroker** out, char* message,
                               std::size_t message_size);
}
