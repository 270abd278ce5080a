// App modules: finding an app's C++ sources, and loading the shared libraries `m build` made.
#pragma once

#include "m/core/controller.hpp"
#include "m/core/doctype.hpp"
#include "m/core/jobs.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace m::commands {

struct AppSources {
    std::vector<std::filesystem::path> files; ///< every .cpp of the app, sorted
    std::vector<std::string> controller_ids;  ///< doctypes/<id>/controller.cpp folders
    /// Newest modification time of the files (min() when none: libstdc++'s file clock epoch is in
    /// 2174, so a default-constructed time is later than any real one).
    std::filesystem::file_time_type newest = std::filesystem::file_time_type::min();
};

/// The C++ sources of apps/<app> (frontend/ and hidden folders excluded).
AppSources app_sources(const std::filesystem::path& project_root, const std::string& app);

/// Where `m build` puts an app's module: <project>/.m/modules/<app>.so.
std::filesystem::path module_path(const std::filesystem::path& project_root,
                                  const std::string& app);

/// Folder holding the SDK headers (<m/app.hpp>): ../include next to an installed `m`, else the
/// source tree it was built from.
std::filesystem::path sdk_include_dir();

/// Compiles one app's sources (with a generated registration function) into module_path() with
/// the C++ compiler ($CXX, default c++). Throws Error{validation} when compilation fails, after
/// the compiler printed its diagnostics on stderr; the previous module is kept then.
void build_app_module(const std::filesystem::path& project_root, const std::string& app,
                      const AppSources& sources);

/// Loads the modules of `apps` in order and lets each register its controllers. An app whose
/// C++ is newer than its module (or not built) is built first, with a note on stderr
/// (Stale::build); with Stale::refuse (`m doctor`) that is an error instead; with Stale::load
/// (M_ENV=production: nothing is compiled at run time) a module that exists is loaded with a
/// warning that its C++ is newer, and a missing one is an error. Throws
/// Error{validation|unavailable} naming the app when that build fails, a module does not load, was
/// built for another m, fails to register, or registers a controller for a DocType that does not
/// exist. Loaded modules stay loaded for the life of the process.
enum class Stale { build, refuse, load };
void load_app_modules(const std::filesystem::path& project_root,
                      const std::vector<std::string>& apps, const core::MetaRegistry& meta,
                      core::ControllerRegistry& controllers, Stale stale = Stale::build,
                      core::JobRegistry* jobs = nullptr);

} // namespace m::commands
