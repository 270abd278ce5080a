// Prometheus metrics of `m serve`: the exposition text is parsed back, line by line, and every
// sample is checked against what was recorded.
#include "m/server/metrics.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Exposition {
    std::map<std::string, std::string> types;   ///< family -> counter|gauge|histogram
    std::map<std::string, std::string> helps;   ///< family -> help text
    std::map<std::string, std::string> samples; ///< "name{labels}" exactly as written -> value
    std::vector<std::string> order;             ///< families in the order of their TYPE lines
};

/// A strict reader of the text format: every line is a HELP, a TYPE or a sample of the family
/// declared last, and no sample repeats.
Exposition parse(const std::string& text) {
    Exposition e;
    std::istringstream in(text);
    std::string current;
    REQUIRE(!text.empty());
    REQUIRE(text.back() == '\n');
    for (std::string line; std::getline(in, line);) {
        INFO(line);
        REQUIRE(!line.empty());
        if (line.rfind("# HELP ", 0) == 0) {
            auto space = line.find(' ', 7);
            REQUIRE(space != std::string::npos);
            e.helps[line.substr(7, space - 7)] = line.substr(space + 1);
            continue;
        }
        if (line.rfind("# TYPE ", 0) == 0) {
            auto space = line.find(' ', 7);
            REQUIRE(space != std::string::npos);
            current = line.substr(7, space - 7);
            REQUIRE(e.types.count(current) == 0);
            REQUIRE(e.helps.count(current) == 1); // HELP comes first
            e.types[current] = line.substr(space + 1);
            e.order.push_back(current);
            continue;
        }
        REQUIRE(line[0] != '#');
        auto value_at = line.rfind(' ');
        REQUIRE(value_at != std::string::npos);
        std::string series = line.substr(0, value_at);
        std::string name = series.substr(0, series.find('{'));
        const std::string& type = e.types[current];
        if (type == "histogram") {
            CHECK((name == current + "_bucket" || name == current + "_sum" ||
                   name == current + "_count"));
        } else {
            CHECK(name == current);
        }
        REQUIRE(e.samples.count(series) == 0);
        e.samples[series] = line.substr(value_at + 1);
    }
    return e;
}

} // namespace

TEST_CASE("metrics count requests, errors and latency buckets", "[metrics]") {
    m::server::Metrics metrics;
    const std::string route = "/api/v1/{doctype}/{id}";
    metrics.record("GET", route, 200, 0.0003); // first bucket
    metrics.record("GET", route, 200, 0.001);  // on a bound: le is inclusive
    metrics.record("GET", route, 200, 0.02);   // 0.025
    metrics.record("GET", route, 404, 0.7);    // 1
    metrics.record("GET", route, 500, 12.0);   // only +Inf
    metrics.record("POST", "/api/v1/{doctype}", 503, 0.004);

    m::server::MetricsGauges gauges;
    gauges.connections = 7;
    gauges.streams = 3;
    gauges.db_pool_size = 8;
    gauges.db_pool_in_use = 2;
    const std::string text = metrics.text(gauges);
    INFO(text);
    const Exposition e = parse(text);

    CHECK(e.types.at("m_http_requests_total") == "counter");
    CHECK(e.types.at("m_http_request_duration_seconds") == "histogram");
    CHECK(e.types.at("m_http_errors_total") == "counter");
    for (const char* gauge : {"m_http_connections", "m_http_streams", "m_db_pool_size",
                              "m_db_pool_in_use", "process_start_time_seconds"}) {
        INFO(gauge);
        CHECK(e.types.at(gauge) == "gauge");
    }

    const std::string get = "method=\"GET\",route=\"/api/v1/{doctype}/{id}\"";
    CHECK(e.samples.at("m_http_requests_total{" + get + ",status=\"200\"}") == "3");
    CHECK(e.samples.at("m_http_requests_total{" + get + ",status=\"404\"}") == "1");
    CHECK(e.samples.at("m_http_requests_total{" + get + ",status=\"500\"}") == "1");
    CHECK(
        e.samples.at(
            "m_http_requests_total{method=\"POST\",route=\"/api/v1/{doctype}\",status=\"503\"}") ==
        "1");
    CHECK(e.samples.at("m_http_errors_total{status=\"500\"}") == "1");
    CHECK(e.samples.at("m_http_errors_total{status=\"503\"}") == "1");
    CHECK(e.samples.count("m_http_errors_total{status=\"404\"}") == 0);

    // Cumulative buckets of the GET route: 0.0003, 0.001, 0.02, 0.7, 12.
    const std::vector<std::pair<std::string, std::string>> buckets{
        {"0.0005", "1"}, {"0.001", "2"}, {"0.0025", "2"}, {"0.005", "2"}, {"0.01", "2"},
        {"0.025", "3"},  {"0.05", "3"},  {"0.1", "3"},    {"0.25", "3"},  {"0.5", "3"},
        {"1", "4"},      {"10", "4"},    {"+Inf", "5"}};
    for (const auto& [le, count] : buckets) {
        INFO(le);
        CHECK(e.samples.at("m_http_request_duration_seconds_bucket{" + get + ",le=\"" + le +
                           "\"}") == count);
    }
    CHECK(e.samples.at("m_http_request_duration_seconds_count{" + get + "}") == "5");
    CHECK(std::stod(e.samples.at("m_http_request_duration_seconds_sum{" + get + "}")) ==
          Approx(0.0003 + 0.001 + 0.02 + 0.7 + 12.0));
    const std::string post = "method=\"POST\",route=\"/api/v1/{doctype}\"";
    CHECK(e.samples.at("m_http_request_duration_seconds_bucket{" + post + ",le=\"0.0025\"}") ==
          "0");
    CHECK(e.samples.at("m_http_request_duration_seconds_bucket{" + post + ",le=\"0.005\"}") == "1");
    CHECK(e.samples.at("m_http_request_duration_seconds_bucket{" + post + ",le=\"+Inf\"}") == "1");

    CHECK(e.samples.at("m_http_connections") == "7");
    CHECK(e.samples.at("m_http_streams") == "3");
    CHECK(e.samples.at("m_db_pool_size") == "8");
    CHECK(e.samples.at("m_db_pool_in_use") == "2");
    // Started in the past, not long ago (this test process).
    const double start = std::stod(e.samples.at("process_start_time_seconds"));
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    CHECK(start <= now + 1);
    CHECK(start > now - 3600);
}

TEST_CASE("metrics without requests still declare every family", "[metrics]") {
    m::server::Metrics metrics;
    const Exposition e = parse(metrics.text({}));
    CHECK(e.order == std::vector<std::string>{
                         "m_http_requests_total", "m_http_request_duration_seconds",
                         "m_http_errors_total", "m_http_connections", "m_http_streams",
                         "m_db_pool_size", "m_db_pool_in_use", "process_start_time_seconds"});
    CHECK(e.samples.at("m_http_connections") == "0");
    CHECK(e.samples.count("m_http_errors_total{status=\"500\"}") == 0);
}

TEST_CASE("metrics escape label values", "[metrics]") {
    m::server::Metrics metrics;
    metrics.record("GET", "/a\"b\\c\nd\te", 200, 0.01);
    const std::string text = metrics.text({});
    INFO(text);
    const Exposition e = parse(text); // a raw newline in a label would break the line structure
    const std::string labels = R"(method="GET",route="/a\"b\\c\nd)"
                               "\t"
                               R"(e")";
    CHECK(e.samples.at("m_http_requests_total{" + labels + ",status=\"200\"}") == "1");
    CHECK(e.samples.at("m_http_request_duration_seconds_count{" + labels + "}") == "1");
}

TEST_CASE("metrics are recorded from many threads without loss", "[metrics]") {
    m::server::Metrics metrics;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&metrics] {
            for (int i = 0; i < 1000; ++i) metrics.record("GET", "/health", 200, 0.0001);
        });
    }
    for (auto& t : threads) t.join();
    const Exposition e = parse(metrics.text({}));
    CHECK(e.samples.at(R"(m_http_requests_total{method="GET",route="/health",status="200"})") ==
          "4000");
    CHECK(
        e.samples.at(
            R"(m_http_request_duration_seconds_bucket{method="GET",route="/health",le="0.0005"})") ==
        "4000");
}
