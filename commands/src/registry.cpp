// The command table: every top-level command with its help line and how much bootstrap it needs.
// No static self-registration: adding a command means adding a line here.
#include "m/commands/command.hpp"

#include <fmt/format.h>

#include <atomic>

namespace m::commands {

const std::vector<Command>& command_table() {
    static const std::vector<Command> table{
        {"new", "Create a project, an app or a DocType (refuses to overwrite)", Needs::none,
         &add_new},
        {"migrate", "Bring the database schema in line with the DocType metadata", Needs::database,
         &add_migrate},
        {"doc", "List, read, insert, update and delete documents", Needs::full, &add_doc},
        {"serve", "Serve the HTTP API, the Desk and live updates", Needs::full, &add_serve},
        {"worker", "Run background jobs (and with --scheduler, cron jobs)", Needs::full,
         &add_worker},
        {"job", "Enqueue jobs, show their status, retry or cancel them", Needs::full, &add_job},
        {"user", "Create users, set passwords, make API keys", Needs::full, &add_user},
        {"routes", "List every HTTP route of m serve", Needs::settings, &add_routes},
        {"build", "Compile the apps' C++ (controllers) into modules that m loads", Needs::settings,
         &add_build},
        {"config", "Show the effective settings and where each comes from", Needs::settings,
         &add_config},
        {"info", "Show the project, its apps, DocTypes and database", Needs::settings, &add_info},
        {"doctor", "Check every configured service and say precisely what is wrong", Needs::none,
         &add_doctor},
        {"completions", "Print a shell completion script (bash, zsh or fish)", Needs::none,
         &add_completions},
    };
    return table;
}

void build_cli(CLI::App& app, GlobalOptions& options) {
    app.set_version_flag("--version", std::string(M_VERSION), "Print the version and exit");
    app.require_subcommand(1);
    app.fallthrough();
    app.add_option("--project", options.project,
                   "Project folder (default: found upward from the working directory)")
        ->envname("M_PROJECT");
    app.add_option("--config", options.config, "Path to framework_config.toml");
    app.add_flag("-v,--verbose", options.verbose, "More output (log level debug)");
    app.add_flag("-q,--quiet", options.quiet, "Less output (log level error)");
    app.add_flag("--json", options.json, "Machine-readable JSON output");
    for (const auto& cmd : command_table()) {
        CLI::App* sub = app.add_subcommand(cmd.name, cmd.help);
        sub->fallthrough();
        cmd.add(*sub, options, cmd.needs);
    }
}

namespace {

std::atomic<int> g_exit_status{0};

} // namespace

void set_exit_status(int code) noexcept {
    g_exit_status = code;
}

int exit_status() noexcept {
    return g_exit_status;
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

void print_json(const core::Json& value) {
    std::string text = value.dump(-1, ' ', false, core::Json::error_handler_t::replace);
    text += '\n';
    std::fwrite(text.data(), 1, text.size(), stdout);
}

} // namespace m::commands
