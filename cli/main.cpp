// The `m` executable. The command tree lives in commands/; this file owns the one translation
// from what went wrong to an exit code (docs/reference/commands.md, "Exit codes"): 0 success,
// 1 failure, 2 usage error, 3 `migrate --check` with pending changes, 130 interrupted.
#include "m/commands/command.hpp"
#include "m/core/error.hpp"
#include "m/core/interrupt.hpp"

#include <fmt/format.h>

#include <cstdio>

int main(int argc, char** argv) {
    using m::core::Error;
    using m::core::ErrorKind;
    m::core::install_interrupt_handler();
    CLI::App app{"m: a metadata-driven business application framework", "m"};
    m::commands::GlobalOptions options;
    m::commands::build_cli(app, options);
    try {
        app.parse(argc, argv);
        return m::commands::exit_status();
    } catch (const CLI::CallForHelp&) {
        return app.exit(CLI::CallForHelp());
    } catch (const CLI::CallForAllHelp&) {
        return app.exit(CLI::CallForAllHelp());
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // "A subcommand is required" is CLI11's answer to `m bogus`; name the word instead.
        auto extras = app.remaining();
        if (!extras.empty() && !extras.front().empty() && extras.front()[0] != '-') {
            fmt::print(stderr, "m: unknown command '{}' (see m --help)\n", extras.front());
        } else {
            fmt::print(stderr, "m: {}\n", e.what());
        }
        return 2;
    } catch (const Error& e) {
        fmt::print(stderr, "m: error: {}\n", e.what());
        return e.kind() == ErrorKind::cancelled ? 130 : 1;
    } catch (const std::exception& e) {
        fmt::print(stderr, "m: internal error: {}\n", e.what());
        return 1;
    }
}
