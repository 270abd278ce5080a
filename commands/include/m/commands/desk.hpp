// The Desk's files: finding the built Desk `m serve` serves, and rebuilding it with the
// project's plugins (`m build`; docs/reference/desk.md, "Routes" and "Plugins"). Node.js is needed
// only for the rebuild.
#pragma once

#include "m/core/settings.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace m::commands {

/// A Desk plugin: apps/<app>/frontend/package.json with a "framework-m" key.
struct DeskPlugin {
    std::string app;
    std::filesystem::path dir; ///< apps/<app>/frontend
};

/// The Desk plugins of the loaded apps, in app order. A frontend/package.json that is not JSON
/// is an Error naming the file; one without the "framework-m" key is not a plugin.
std::vector<DeskPlugin> desk_plugins(const std::filesystem::path& project_root,
                                     const std::vector<std::string>& apps);

/// Where `m build` puts a project's own Desk (with its plugins): <project>/.m/desk.
std::filesystem::path project_desk_dir(const std::filesystem::path& project_root);

/// The built Desk to serve: `server.desk_dir`, else the project's own (.m/desk), else the one
/// installed next to m (share/m/desk), else the source tree's desk/dist. Empty when none.
std::filesystem::path find_desk(const core::Settings& settings);

/// The Desk's sources (package.json, vite.config.ts): M_DESK_SOURCE, else share/m/desk-src next
/// to an installed m, else the source tree's desk/. Empty when none.
std::filesystem::path desk_source_dir();

/// Builds the Desk with `plugins` into <project>/.m/desk (atomically replaced) with Vite, in
/// `mode` ("monolith" | "mfe"). Installs the Desk's npm packages first (npm ci) when they are
/// missing. Errors name what is missing (Node.js, the sources) or where Vite's log is.
void build_desk(const std::filesystem::path& project_root, const std::vector<DeskPlugin>& plugins,
                const std::string& mode, bool quiet);

} // namespace m::commands
