// Prometheus metrics of `m serve` (GET /metrics, text exposition format 0.0.4).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace m::server {

/// Gauges read when /metrics is scraped.
struct MetricsGauges {
    std::size_t connections = 0;
    std::size_t streams = 0;
    std::size_t db_pool_size = 0;
    std::size_t db_pool_in_use = 0;
};

class Metrics {
public:
    /// Records one finished request. `route` is the route pattern ("/api/v1/{doctype}/{id}"),
    /// never the raw path, so label cardinality stays bounded. Thread-safe and cheap (a mutex
    /// held for a few additions; histograms use fixed buckets).
    void record(const std::string& method, const std::string& route, int status, double seconds);

    /// The exposition text: m_http_requests_total{method,route,status},
    /// m_http_request_duration_seconds histogram {method,route} (buckets 0.0005 … 10, +Inf),
    /// m_http_errors_total{status} (status >= 500), and the gauges m_http_connections,
    /// m_http_streams, m_db_pool_size, m_db_pool_in_use and process_start_time_seconds (the
    /// standard name, seconds since the epoch). Thread-safe; label values are escaped.
    std::string text(const MetricsGauges& gauges) const;

private:
    static constexpr std::array<double, 12> k_buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  10.0};
    struct Histogram {
        std::array<unsigned long long, k_buckets.size()> counts{};
        unsigned long long count = 0;
        double sum = 0;
    };
    mutable std::mutex m_mutex;
    std::map<std::string, unsigned long long> m_requests; ///< "method\troute\tstatus"
    std::map<std::string, Histogram> m_latency;           ///< "method\troute"
    std::map<int, unsigned long long> m_errors;
};

} // namespace m::server
