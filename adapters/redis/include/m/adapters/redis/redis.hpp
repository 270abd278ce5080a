// The Redis adapters of two core ports, for several `m serve` / `m worker` processes that share
// state: the cache (core/cache.hpp: rate-limit counters, revocations, leases) and the job status
// store (core/jobs.hpp: the status of jobs whose queue is NATS). Only the composition root
// includes this header, for `redis://` URLs; hiredis stays behind it.
//
// Keys (prefix "m:" by default, so that one Redis can hold other data too):
//   <prefix><key>      a cache entry
//   <prefix>job:<id>   a job record: JobRecord::to_json() as text, expiring after the retention
//   <prefix>jobs       sorted set of job ids scored by enqueued_at (the newest 10,000 are kept)
//
// When Redis is down every call throws Error{unavailable} naming the (masked) URL; the next call
// after Redis is back works again, with the same objects.
#pragma once

#include "m/core/cache.hpp"
#include "m/core/jobs.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace m::adapters::redis {

/// A cache on the Redis at `url` (redis://[[user]:password@]host[:port][/db]); keys get
/// `prefix`. Error{validation} for a bad URL; connects in start() (Error{unavailable}).
/// kind() "redis", service_name() "cache (Redis)". Thread-safe.
std::unique_ptr<core::Cache> make_redis_cache(std::string url, std::string prefix = "m:");

/// A job status store on the Redis at `url`; records expire `retention` after their last write.
/// Error{validation} for a bad URL or a retention under 1 s; connects in start()
/// (Error{unavailable}). kind() "redis", service_name() "job store (Redis)". Thread-safe.
std::unique_ptr<core::JobStore>
make_redis_job_store(std::string url, std::chrono::seconds retention = std::chrono::hours(24 * 7),
                     std::string prefix = "m:");

} // namespace m::adapters::redis
