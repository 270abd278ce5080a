// What every command shares: the global options, the bootstrap levels, and the runtime a command
// runs against. A command declares how much of the container it needs; `m --version` and
// `m completions` need nothing and never open a database.
#pragma once

#include "m/core/cache.hpp"
#include "m/core/controller.hpp"
#include "m/core/database.hpp"
#include "m/core/doctype.hpp"
#include "m/core/events.hpp"
#include "m/core/jobs.hpp"
#include "m/core/service.hpp"
#include "m/core/settings.hpp"
#include "m/core/values.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace m::commands {

/// How much bootstrap a command needs.
enum class Needs {
    none,     ///< nothing: no project, no services
    settings, ///< the project's settings and DocType metadata
    database, ///< + the database service, started
    full,     ///< + every configured service (later: queue, cache, bus)
};

struct GlobalOptions {
    std::string project;
    std::string config;
    int verbose = 0;
    int quiet = 0;
    bool json = false;
};

/// The bootstrapped container and what was loaded to build it. Destroying it stops every service
/// in reverse order.
struct Runtime {
    core::Settings settings;
    std::vector<std::string> apps;
    core::MetaRegistry meta;
    core::ControllerRegistry controllers; ///< from app modules (m build); empty without them
    core::Container container;
    core::Database* database = nullptr;
    core::JobRegistry jobs; ///< built-in jobs + the apps' (with Needs::full)

    // Started by start_services() (m worker, m job, m serve), not by every command: NATS and
    // Redis are only contacted by the commands that need them.
    core::JobStore* job_store = nullptr; ///< NATS queue's status store (Redis or database)
    core::JobQueue* queue = nullptr;     ///< NATS_URL ? JetStream : the database
    core::EventBroker* broker = nullptr; ///< NATS_URL ? JetStream stream `events` : none
    core::Cache* cache = nullptr;        ///< REDIS_URL ? Redis : in-process

    core::Database& db() const;
    /// Adds and starts the queue, the broker, the job store and the cache (once).
    void start_services();
};

/// The exit status of a command that ends without an error but must say "no" to a script
/// (`m migrate --check` with pending changes → 3, `m doctor` with a failed check → 1). A command
/// sets it and returns normally; `m`'s main returns it. 0 unless set. Errors are core::Error.
void set_exit_status(int code) noexcept;
int exit_status() noexcept;

/// Loads settings for the global options (flags beat env beat file).
core::Settings load_settings_for(const GlobalOptions& options);

/// Builds the runtime up to `needs` (composition root). Throws core::Error.
std::unique_ptr<Runtime> bootstrap(const GlobalOptions& options, Needs needs);

/// For the long-running commands (m serve, m worker) with M_ENV=production: throws
/// Error{validation} when the project folder, its apps/, .m/, .env or framework_config.toml may be
/// written by others (anyone could then change the code or the settings they run).
void require_private_project(const core::Settings& settings);

/// Loads a module of m (m-postgres.so, m-server.so) once: next to the executable (build tree),
/// then ../lib/m (installed). `version_symbol` names its version function, which must return this
/// m's version. Throws Error{unavailable} naming `what` when it is missing or does not fit.
void* open_module(const std::string& file, const std::string& version_symbol,
                  const std::string& what);

/// A function of a loaded module, or Error{unavailable}.
void* module_symbol_address(void* handle, const std::string& name, const std::string& what);
template <class F> F module_symbol(void* handle, const std::string& name, const std::string& what) {
    return reinterpret_cast<F>(module_symbol_address(handle, name, what));
}

/// Creates the database adapter for a URL (postgres:// | sqlite://), not started.
std::unique_ptr<core::Database> make_database(const core::Settings& settings);

/// `s` in single quotes for sh (and fish), embedded quotes escaped as '\''.
std::string shell_quote(const std::string& s);

/// Prints a JSON value on stdout (one line).
void print_json(const core::Json& value);

/// One entry of the command table.
struct Command {
    const char* name;
    const char* help;
    Needs needs;
    void (*add)(CLI::App& command, const GlobalOptions& options, Needs needs);
};

/// Every top-level command, in help order.
const std::vector<Command>& command_table();

/// Builds the whole `m` command tree on `app` (used by main and by the completion generator).
void build_cli(CLI::App& app, GlobalOptions& options);

/// Shell completion script for the tree of `app`: "bash", "zsh" or "fish".
std::string completion_script(const CLI::App& app, const std::string& shell);

// The add functions of the table, one per file in commands/src/.
void add_new(CLI::App&, const GlobalOptions&, Needs);
void add_migrate(CLI::App&, const GlobalOptions&, Needs);
void add_doc(CLI::App&, const GlobalOptions&, Needs);
void add_build(CLI::App&, const GlobalOptions&, Needs);
void add_config(CLI::App&, const GlobalOptions&, Needs);
void add_info(CLI::App&, const GlobalOptions&, Needs);
void add_doctor(CLI::App&, const GlobalOptions&, Needs);
void add_completions(CLI::App&, const GlobalOptions&, Needs);
void add_serve(CLI::App&, const GlobalOptions&, Needs);
void add_user(CLI::App&, const GlobalOptions&, Needs);
void add_routes(CLI::App&, const GlobalOptions&, Needs);
void add_worker(CLI::App&, const GlobalOptions&, Needs);
void add_job(CLI::App&, const GlobalOptions&, Needs);

} // namespace m::commands
