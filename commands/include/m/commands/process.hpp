// Starting another program (npm, node, the C++ compiler) with an argv — posix_spawnp, never a
// shell — so no argument is ever re-parsed and no quoting can go wrong.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace m::commands {

struct ProcessSpec {
    std::vector<std::string> argv;                        ///< argv[0] is looked up on PATH
    std::filesystem::path cwd;                            ///< empty = ours
    std::vector<std::pair<std::string, std::string>> env; ///< set on top of ours
    std::filesystem::path output;  ///< stdout and stderr to this file (truncated); empty = ours
    bool stdout_to_stderr = false; ///< with an empty `output`: both to our stderr
};

/// Runs the program and waits for it. Returns its exit status, or -1 when a signal ended it.
/// Throws Error{unavailable} naming the program when it cannot be started (not found, the
/// output file cannot be opened).
int run_process(const ProcessSpec& spec);

} // namespace m::commands
