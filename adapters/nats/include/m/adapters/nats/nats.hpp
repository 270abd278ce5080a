// Factories of the NATS adapter for code that links the static library (tests, benchmarks);
// `m` itself loads m-nats.so through module.hpp.
#pragma once

#include "m/adapters/nats/nats_event_broker.hpp"
#include "m/adapters/nats/nats_job_queue.hpp"

#include <memory>
#include <string>

namespace m::adapters::nats {

/// An unstarted NatsJobQueue on `url` (nats://host:port) keeping status in `store`.
std::unique_ptr<core::JobQueue> make_nats_job_queue(std::string url, core::JobStore& store,
                                                    NatsJobQueueOptions options = {});

/// An unstarted NatsEventBroker on `url`.
std::unique_ptr<core::EventBroker> make_nats_event_broker(std::string url);

} // namespace m::adapters::nats
