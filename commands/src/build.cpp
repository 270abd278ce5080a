// `m build`: compiles each app's C++ (apps/<app>/**/*.cpp) into .m/modules/<app>.so, against
// the installed m headers, with a generated registration function (see m/app.hpp). Apps without
// C++ need no compiler.
#include "m/commands/app_modules.hpp"
#include "m/commands/command.hpp"
#include "m/core/error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace m::commands {

namespace fs = std::filesystem;
using core::Error;
using core::ErrorKind;
using core::Json;

namespace {

void build(const GlobalOptions& options, Needs needs) {
    auto rt = bootstrap(options, needs);
    const fs::path root = rt->settings.project_root;
    Json report = Json::array();
    int built = 0;
    for (const auto& app : rt->apps) {
        AppSources sources = app_sources(root, app);
        if (sources.files.empty()) {
            report.push_back(Json{{"app", app}, {"status", "no C++"}});
            if (!options.json) fmt::print("{:<16} no C++ code\n", app);
            continue;
        }
        if (!options.json) {
            fmt::print("{:<16} compiling {} file(s)...\n", app, sources.files.size());
            std::fflush(stdout);
        }
        build_app_module(root, app, sources);
        ++built;
        report.push_back(Json{{"app", app},
                              {"status", "built"},
                              {"module", module_path(root, app).string()},
                              {"controllers", sources.controller_ids}});
    }
    // Prove the result loads and registers, as bootstrap will.
    core::ControllerRegistry check;
    load_app_modules(root, rt->apps, rt->meta, check);
    if (options.json) {
        print_json(Json{{"apps", report}});
    } else {
        fmt::print("Built {} app module(s).\n", built);
    }
}

} // namespace

void add_build(CLI::App& cmd, const GlobalOptions& options, Needs needs) {
    cmd.callback([&options, needs] { build(options, needs); });
}

} // namespace m::commands
