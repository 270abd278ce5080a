#include "m/commands/process.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

extern char** environ;

namespace m::commands {

using core::Error;
using core::ErrorKind;

namespace {

/// Our environment with `extra` set on top, as "KEY=VALUE" strings.
std::vector<std::string>
environment(const std::vector<std::pair<std::string, std::string>>& extra) {
    std::map<std::string, std::string> vars;
    for (char** e = environ; e && *e; ++e) {
        std::string entry = *e;
        const auto eq = entry.find('=');
        if (eq != std::string::npos) vars[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    for (const auto& [k, v] : extra) vars[k] = v;
    std::vector<std::string> out;
    for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
    return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

/// posix_spawn's file actions, released on every path out.
struct FileActions {
    posix_spawn_file_actions_t actions;
    FileActions() { posix_spawn_file_actions_init(&actions); }
    ~FileActions() { posix_spawn_file_actions_destroy(&actions); }
    FileActions(const FileActions&) = delete;
    FileActions& operator=(const FileActions&) = delete;
};

} // namespace

int run_process(const ProcessSpec& spec) {
    if (spec.argv.empty()) throw Error(ErrorKind::internal, "run_process: no program");
    const std::string& program = spec.argv.front();
    FileActions fa;
    int out = -1;
    if (!spec.output.empty()) {
        out = ::open(spec.output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0) {
            throw Error(
                ErrorKind::unavailable,
                fmt::format("cannot write {}: {}", spec.output.string(), std::strerror(errno)));
        }
        posix_spawn_file_actions_adddup2(&fa.actions, out, STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa.actions, out, STDERR_FILENO);
    } else if (spec.stdout_to_stderr) {
        posix_spawn_file_actions_adddup2(&fa.actions, STDERR_FILENO, STDOUT_FILENO);
    }
    if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa.actions, spec.cwd.c_str());
    std::vector<std::string> args = spec.argv;
    std::vector<std::string> env = environment(spec.env);
    auto argv = pointers(args);
    auto envp = pointers(env);
    pid_t pid = 0;
    const int rc =
        ::posix_spawnp(&pid, program.c_str(), &fa.actions, nullptr, argv.data(), envp.data());
    if (out >= 0) ::close(out);
    if (rc != 0) {
        throw Error(ErrorKind::unavailable,
                    fmt::format("cannot run {}: {}", program, std::strerror(rc)));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            throw Error(ErrorKind::internal,
                        fmt::format("waiting for {}: {}", program, std::strerror(errno)));
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace m::commands
