#include "m/core/interrupt.hpp"

#include "m/core/error.hpp"

#include <atomic>
#include <csignal>

namespace m::core {

namespace {
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_signal(int) {
    g_interrupted.store(true);
}
} // namespace

void install_interrupt_handler() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() noexcept {
    return g_interrupted.load();
}

void throw_if_interrupted() {
    if (interrupted()) throw Error(ErrorKind::cancelled, "interrupted");
}

} // namespace m::core
