// Prometheus text exposition (format 0.0.4) of the request counters and latency histograms.
//
// record() only touches maps under one mutex; everything expensive (cumulating buckets, escaping,
// formatting) happens in text(), which runs once per scrape.
#include "m/server/metrics.hpp"

#include "m/core/values.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string_view>
#include <unistd.h>

namespace m::server {

namespace {

// Label values escape backslash, double quote and line feed (exposition format 0.0.4).
std::string escape_label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            out += c;
        }
    }
    return out;
}

// Shortest text that reads back as the same double; Prometheus spells infinity "+Inf".
std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", v);
}

// Seconds since the epoch at which this process started: its start time in clock ticks after
// boot (/proc/self/stat, field 22) plus the boot time (/proc/stat, btime), as the Prometheus client
// libraries compute it. Falls back to the first call when /proc is not readable.
double read_process_start_time() {
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::ifstream stat("/proc/self/stat");
    std::string line;
    if (!std::getline(stat, line)) return now;
    // The command name (field 2) is in parentheses and may contain spaces: skip past its end.
    auto close = line.rfind(')');
    if (close == std::string::npos) return now;
    std::istringstream fields(line.substr(close + 2));
    std::string field;
    unsigned long long start_ticks = 0;
    for (int i = 3; i <= 22 && fields >> field; ++i) {
        if (i == 22)
            start_ticks = static_cast<unsigned long long>(
                std::max<std::int64_t>(0, core::parse_integer(field).value_or(0)));
    }
    std::ifstream proc_stat("/proc/stat");
    unsigned long long boot = 0;
    for (std::string l; std::getline(proc_stat, l);) {
        if (l.rfind("btime ", 0) == 0) {
            boot = static_cast<unsigned long long>(
                std::max<std::int64_t>(0, core::parse_integer(l.substr(6)).value_or(0)));
        }
    }
    long ticks = sysconf(_SC_CLK_TCK);
    if (boot == 0 || start_ticks == 0 || ticks <= 0) return now;
    return static_cast<double>(boot) +
           static_cast<double>(start_ticks) / static_cast<double>(ticks);
}

double process_start_time() {
    static const double start = read_process_start_time();
    return start;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

} // namespace

void Metrics::record(const std::string& method, const std::string& route, int status,
                     double seconds) {
    if (!(seconds >= 0)) seconds = 0; // a clock step backwards or NaN must not corrupt the sum
    // The first bucket that holds the value; k_buckets.size() means only +Inf.
    std::size_t bucket = static_cast<std::size_t>(
        std::lower_bound(k_buckets.begin(), k_buckets.end(), seconds) - k_buckets.begin());
    std::string key = method;
    key += '\t';
    key += route;
    std::string request_key = key + '\t' + std::to_string(status);

    std::lock_guard lock(m_mutex);
    ++m_requests[request_key];
    Histogram& h = m_latency[key];
    if (bucket < k_buckets.size()) ++h.counts[bucket];
    ++h.count;
    h.sum += seconds;
    if (status >= 500) ++m_errors[status];
}

std::string Metrics::text(const MetricsGauges& gauges) const {
    std::string out;
    std::unique_lock lock(m_mutex);
    const auto requests = m_requests;
    const auto latency = m_latency;
    const auto errors = m_errors;
    lock.unlock();

    // Keys are "method\troute[\tstatus]"; methods have no tab and statuses are numbers, so the
    // route is what lies between the first and the last tab, whatever it contains.
    family(out, "m_http_requests_total", "counter",
           "HTTP requests answered, by method, route pattern and status.");
    for (const auto& [key, n] : requests) {
        auto first = key.find('\t');
        auto last = key.rfind('\t');
        out += fmt::format("m_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n",
                           escape_label(key.substr(0, first)),
                           escape_label(key.substr(first + 1, last - first - 1)),
                           escape_label(key.substr(last + 1)), n);
    }

    family(out, "m_http_request_duration_seconds", "histogram",
           "Time from a request read to its response written, by method and route pattern.");
    for (const auto& [key, h] : latency) {
        auto tab = key.find('\t');
        std::string labels =
            fmt::format("method=\"{}\",route=\"{}\"", escape_label(key.substr(0, tab)),
                        escape_label(key.substr(tab + 1)));
        unsigned long long cumulative = 0;
        for (std::size_t i = 0; i < k_buckets.size(); ++i) {
            cumulative += h.counts[i];
            out += fmt::format("m_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n",
                               labels, format_value(k_buckets[i]), cumulative);
        }
        out += fmt::format("m_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels,
                           h.count);
        out += fmt::format("m_http_request_duration_seconds_sum{{{}}} {}\n", labels,
                           format_value(h.sum));
        out += fmt::format("m_http_request_duration_seconds_count{{{}}} {}\n", labels, h.count);
    }

    family(out, "m_http_errors_total", "counter", "HTTP responses with a status of 500 or more.");
    for (const auto& [status, n] : errors) {
        out += fmt::format("m_http_errors_total{{status=\"{}\"}} {}\n", status, n);
    }

    family(out, "m_http_connections", "gauge", "Open client connections, streams included.");
    out += fmt::format("m_http_connections {}\n", gauges.connections);
    family(out, "m_http_streams", "gauge", "Open live-update streams (Server-Sent Events).");
    out += fmt::format("m_http_streams {}\n", gauges.streams);
    family(out, "m_db_pool_size", "gauge", "Connections in the database pool.");
    out += fmt::format("m_db_pool_size {}\n", gauges.db_pool_size);
    family(out, "m_db_pool_in_use", "gauge", "Database connections lent out right now.");
    out += fmt::format("m_db_pool_in_use {}\n", gauges.db_pool_in_use);
    family(out, "process_start_time_seconds", "gauge",
           "Start time of the process since the Unix epoch in seconds.");
    out += fmt::format("process_start_time_seconds {}\n", format_value(process_start_time()));
    return out;
}

} // namespace m::server
