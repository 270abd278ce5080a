// The Desk's files: see desk.hpp. The rebuild runs the Desk's own Vite (desk/node_modules) with
// the plugin folders in FM_PLUGIN_DIRS; framework-m-vite-plugin turns them into
// `virtual:framework-m-plugins`.
#include "m/commands/desk.hpp"

#include "m/commands/command.hpp"
#include "m/commands/process.hpp"
#include "m/core/error.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace m::commands {

namespace fs = std::filesystem;
using core::Error;
using core::ErrorKind;

namespace {

fs::path executable_dir() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe.parent_path();
}

bool has_index(const fs::path& dir) {
    std::error_code ec;
    return !dir.empty() && fs::is_regular_file(dir / "index.html", ec);
}

/// Runs a program in `cwd`; its output goes to `log`. Returns the exit status (-1 = signal).
int run_logged(std::vector<std::string> argv, const fs::path& cwd, const fs::path& log,
               std::vector<std::pair<std::string, std::string>> env = {}) {
    return run_process(ProcessSpec{std::move(argv), cwd, std::move(env), log, false});
}

/// The last line of `log` that says something (Vite puts the reason of a failure last).
std::string last_line(const fs::path& log) {
    std::ifstream in(log);
    std::string line;
    std::string last;
    while (std::getline(in, line)) {
        if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
    }
    return last;
}

bool on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    if (!path) return false;
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (!dir.empty() && access((fs::path(dir) / program).c_str(), X_OK) == 0) return true;
    }
    return false;
}

} // namespace

std::vector<DeskPlugin> desk_plugins(const fs::path& root, const std::vector<std::string>& apps) {
    std::vector<DeskPlugin> out;
    for (const auto& app : apps) {
        fs::path dir = root / "apps" / app / "frontend";
        fs::path manifest = dir / "package.json";
        std::error_code ec;
        if (!fs::is_regular_file(manifest, ec)) continue;
        std::ifstream in(manifest);
        auto j = nlohmann::json::parse(in, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            throw Error(
                ErrorKind::validation,
                fmt::format("{}: not a JSON object", manifest.lexically_relative(root).string()));
        }
        if (!j.contains("framework-m")) continue;
        out.push_back(DeskPlugin{app, dir});
    }
    return out;
}

fs::path project_desk_dir(const fs::path& root) {
    return root / ".m" / "desk";
}

fs::path find_desk(const core::Settings& settings) {
    if (!settings.desk_dir.empty()) {
        fs::path p = settings.desk_dir;
        return p.is_relative() ? settings.project_root / p : p;
    }
    std::vector<fs::path> candidates;
    if (!settings.project_root.empty())
        candidates.push_back(project_desk_dir(settings.project_root));
    if (fs::path exe = executable_dir(); !exe.empty()) {
        candidates.push_back(exe.parent_path() / "share" / "m" / "desk");
    }
    candidates.push_back(fs::path(M_SOURCE_DIR) / "desk" / "dist");
    for (const auto& c : candidates) {
        if (has_index(c)) return c;
    }
    return {};
}

fs::path desk_source_dir() {
    std::vector<fs::path> candidates;
    if (const char* env = std::getenv("M_DESK_SOURCE"); env && *env) candidates.emplace_back(env);
    if (fs::path exe = executable_dir(); !exe.empty()) {
        candidates.push_back(exe.parent_path() / "share" / "m" / "desk-src");
    }
    candidates.push_back(fs::path(M_SOURCE_DIR) / "desk");
    std::error_code ec;
    for (const auto& c : candidates) {
        if (fs::is_regular_file(c / "package.json", ec) &&
            fs::is_regular_file(c / "vite.config.ts", ec)) {
            return c;
        }
    }
    return {};
}

void build_desk(const fs::path& root, const std::vector<DeskPlugin>& plugins,
                const std::string& mode, bool quiet) {
    if (mode != "monolith" && mode != "mfe") {
        throw Error(ErrorKind::validation,
                    fmt::format("the Desk's build mode must be monolith or mfe, not '{}'", mode));
    }
    const fs::path src = desk_source_dir();
    if (src.empty()) {
        throw Error(ErrorKind::unavailable,
                    "cannot rebuild the Desk: its sources were not found (set M_DESK_SOURCE to "
                    "a checkout's desk/ folder, or use --no-desk)");
    }
    if (!on_path("node") || !on_path("npm")) {
        throw Error(ErrorKind::unavailable,
                    "cannot rebuild the Desk: Node.js (node and npm, version 20.19 or newer) is "
                    "not on PATH; install it, or use --no-desk");
    }
    const fs::path work = root / ".m";
    std::error_code ec;
    fs::create_directories(work, ec);
    const fs::path log = work / "desk-build.log";
    const std::string pid = std::to_string(getpid());
    std::error_code exists_ec;
    if (!fs::is_regular_file(src / "node_modules" / "vite" / "bin" / "vite.js", exists_ec)) {
        if (!quiet) fmt::print("desk             installing the Desk's npm packages (npm ci)...\n");
        std::fflush(stdout);
        int rc = run_logged({"npm", "ci", "--no-audit", "--no-fund"}, src, log);
        if (rc != 0) {
            throw Error(ErrorKind::unavailable,
                        fmt::format("cannot rebuild the Desk: npm ci in {} failed ({}; see {})",
                                    src.string(), last_line(log), log.string()));
        }
    }
    std::string dirs;
    for (const auto& p : plugins) {
        if (!dirs.empty()) dirs += ':';
        dirs += p.dir.string();
    }
    const fs::path out = work / ("desk.tmp." + pid);
    fs::remove_all(out, ec);
    if (!quiet) {
        fmt::print("desk             building the Desk ({}, {} plugin(s))...\n", mode,
                   plugins.size());
        std::fflush(stdout);
    }
    int rc = run_logged({"node", "node_modules/vite/bin/vite.js", "build", "--logLevel", "warn",
                         "--outDir", out.string(), "--emptyOutDir"},
                        src, log, {{"FM_PLUGIN_DIRS", dirs}, {"FM_DESK_MODE", mode}});
    if (rc != 0 || !has_index(out)) {
        fs::remove_all(out, ec);
        throw Error(ErrorKind::validation,
                    fmt::format("the Desk build failed: {} (the whole log: {}); the previous "
                                "Desk was kept",
                                last_line(log), log.string()));
    }
    // Swap in the new Desk with renames: a running m serve never serves half a build.
    const fs::path dest = project_desk_dir(root);
    const fs::path old = work / ("desk.old." + pid);
    if (fs::exists(dest, ec)) fs::rename(dest, old, ec);
    fs::rename(out, dest);
    fs::remove_all(old, ec);
}

} // namespace m::commands
