// `m build`: compiles each app's C++ (apps/<app>/**/*.cpp) into .m/modules/<app>.so, against
// the installed m headers, with a generated registration function (see m/app.hpp). Apps without
// C++ need no compiler. Then, when apps have Desk plugins (apps/<app>/frontend), rebuilds the
// Desk with them into .m/desk (Node.js needed only then; docs/reference/desk.md, "Plugins").
#include "m/commands/app_modules.hpp"
#include "m/commands/command.hpp"
#include "m/commands/desk.hpp"
#include "m/core/error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace m::commands {

namespace fs = std::filesystem;
using core::Error;
using core::ErrorKind;
using core::Json;

namespace {

struct BuildFlags {
    std::string desk = "auto"; ///< auto (when there are plugins) | always | never
    std::string desk_mode = "monolith";
};

/// The Desk part of `m build`: a project with plugins gets its own Desk in .m/desk; one without
/// uses the Desk that comes with m (a Desk left from removed plugins is deleted).
Json build_project_desk(const fs::path& root, const std::vector<std::string>& apps,
                        const BuildFlags& flags, bool quiet) {
    std::vector<DeskPlugin> plugins = desk_plugins(root, apps);
    Json names = Json::array();
    for (const auto& p : plugins) names.push_back(p.app);
    if (flags.desk == "never") return Json{{"status", "skipped"}, {"plugins", names}};
    if (plugins.empty() && flags.desk == "auto") {
        std::error_code ec;
        bool removed = fs::remove_all(project_desk_dir(root), ec) > 0;
        if (!quiet) {
            fmt::print("desk             no plugins: m serve uses the Desk that comes with m{}\n",
                       removed ? " (removed the project's old build)" : "");
        }
        return Json{{"status", "built-in"}, {"plugins", names}};
    }
    build_desk(root, plugins, flags.desk_mode, quiet);
    if (!quiet) {
        fmt::print("desk             built {} with {} plugin(s)\n",
                   project_desk_dir(root).lexically_relative(root).string(), plugins.size());
    }
    return Json{{"status", "built"},
                {"mode", flags.desk_mode},
                {"path", project_desk_dir(root).string()},
                {"plugins", names}};
}

void build(const GlobalOptions& options, Needs needs, const BuildFlags& flags) {
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
    if (!options.json) fmt::print("Built {} app module(s).\n", built);
    Json desk = build_project_desk(root, rt->apps, flags, options.json);
    if (options.json) print_json(Json{{"apps", report}, {"desk", desk}});
}

} // namespace

void add_build(CLI::App& cmd, const GlobalOptions& options, Needs needs) {
    auto flags = std::make_shared<BuildFlags>();
    auto* desk = cmd.add_flag_callback(
        "--desk", [flags] { flags->desk = "always"; },
        "Rebuild the Desk even when no app has a Desk plugin");
    auto* no_desk = cmd.add_flag_callback(
        "--no-desk", [flags] { flags->desk = "never"; },
        "Do not rebuild the Desk (no Node.js needed)");
    desk->excludes(no_desk);
    cmd.add_option("--desk-mode", flags->desk_mode,
                   "monolith: plugins in the Desk's bundle; mfe: one entry point per plugin, "
                   "loaded at run time")
        ->check(CLI::IsMember({"monolith", "mfe"}));
    cmd.callback([&options, needs, flags] { build(options, needs, *flags); });
}

} // namespace m::commands
