// `m serve`: the HTTP API, the Desk and live updates (docs/reference/http-api.md,
// docs/reference/jobs-events.md "Live stream") on the bootstrapped container, and `m routes`. The
// HTTP runtime lives in the loadable module m-server.so (server/), so that httplib and OpenSSL cost
// nothing to the other commands; this file checks the schema, gathers the options and hands over.
// SIGINT/SIGTERM stop the server gracefully: in-flight requests finish, streams and idle
// connections close, then services stop in reverse order.
#include "m/commands/command.hpp"
#include "m/commands/desk.hpp"
#include "m/core/error.hpp"
#include "m/migrations/migrator.hpp"
#include "m/server/module.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <csignal>
#include <pthread.h>
#include <thread>

namespace m::commands {

using core::Error;
using core::ErrorKind;

namespace {

namespace fs = std::filesystem;

constexpr const char* k_server_module = "m-server.so";
constexpr const char* k_what = "the HTTP server (m serve)";

struct ServeFlags {
    std::string host;
    int port = -1;
    int threads = 0;
};

void serve(const GlobalOptions& options, Needs needs, const ServeFlags& flags) {
    // Blocked before any thread starts (the pool, the server's workers), so that only the
    // module's signal thread takes SIGINT/SIGTERM and no request is interrupted half-way.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    void* module = open_module(k_server_module, "m_server_module_version", k_what);
    using Serve = int (*)(const server::ServeRequest*, char*, std::size_t);
    auto run = module_symbol<Serve>(module, "m_server_serve", k_what);

    require_private_project(load_settings_for(options)); // before any app code is loaded
    auto rt = bootstrap(options, needs);
    const auto& s = rt->settings;
    migrations::Migrator migrator(rt->db(), rt->meta, s.project_root, rt->apps);
    auto plan = migrator.plan();
    if (!plan.empty()) {
        throw Error(ErrorKind::validation,
                    fmt::format("the database is behind the metadata ({} pending change{}); run "
                                "`m migrate` first",
                                plan.changes.size(), plan.changes.size() == 1 ? "" : "s"));
    }

    server::ServeRequest request;
    request.meta = &rt->meta;
    request.db = &rt->db();
    request.jobs = &rt->jobs;
    request.queue = rt->queue;
    request.broker = rt->broker;
    request.cache = rt->cache;
    request.controllers = &rt->controllers;
    auto& o = request.options;
    o.http.host = flags.host.empty() ? s.server_host : flags.host;
    o.http.port = flags.port >= 0 ? flags.port : s.server_port;
    o.http.workers = flags.threads > 0 ? flags.threads : s.server_threads;
    o.http.max_body = static_cast<std::size_t>(s.server_max_body);
    o.http.header_timeout_s = static_cast<int>(s.header_timeout);
    o.http.min_body_rate = static_cast<std::size_t>(s.min_body_rate);
    o.max_streams_per_user = static_cast<std::size_t>(s.max_streams_per_user);
    o.metrics_token = s.metrics_token;
    o.trusted_proxies = s.trusted_proxies;
    o.secure_cookies = s.secure_cookies;
    o.auth.secret = s.secret_key;
    o.auth.access_ttl_s = s.access_ttl;
    o.auth.refresh_ttl_s = s.refresh_ttl;
    o.auth.password_checks = std::max(1u, std::thread::hardware_concurrency());
    o.cors_origins = s.cors_origins;
    o.desk_dir = find_desk(s);
    o.access_log = s.log_level == "trace" || s.log_level == "debug" || s.log_level == "info";

    char message[1024] = {0};
    int rc = run(&request, message, sizeof message);
    if (rc != 0) throw Error(static_cast<ErrorKind>(rc - 1), message);
}

} // namespace

void add_serve(CLI::App& cmd, const GlobalOptions& options, Needs needs) {
    auto flags = std::make_shared<ServeFlags>();
    cmd.add_option("--host", flags->host, "Address to listen on (default: server.host)");
    cmd.add_option("--port", flags->port, "Port to listen on; 0 = any free port")
        ->check(CLI::Range(0, 65535));
    cmd.add_option("--threads", flags->threads, "Request worker threads")
        ->check(CLI::Range(1, 256));
    cmd.callback([&options, needs, flags] { serve(options, needs, *flags); });
}

void add_routes(CLI::App& cmd, const GlobalOptions& options, Needs needs) {
    cmd.callback([&options, needs] {
        void* module = open_module(k_server_module, "m_server_module_version", k_what);
        using Routes = const std::vector<server::RouteInfo>* (*)();
        const auto& routes = *module_symbol<Routes>(module, "m_server_routes", k_what)();
        auto rt = bootstrap(options, needs);
        std::vector<std::string> doctypes;
        for (const auto& dt : rt->meta.all()) {
            if (dt->api_resource && !dt->is_child_table) doctypes.push_back(dt->name);
        }
        if (options.json) {
            core::Json out = core::Json::array();
            for (const auto& r : routes) {
                out.push_back(core::Json{{"method", r.method},
                                         {"path", r.path},
                                         {"summary", r.summary},
                                         {"auth", std::string(server::to_string(r.auth))}});
            }
            print_json(core::Json{{"routes", out}, {"doctypes", doctypes}});
            return;
        }
        for (const auto& r : routes) {
            fmt::print("{:<7} {:<36} {:<13} {}\n", r.method, r.path, server::to_string(r.auth),
                       r.summary);
        }
        fmt::print("\n{{doctype}} is one of: {}\n", fmt::join(doctypes, ", "));
    });
}

} // namespace m::commands
