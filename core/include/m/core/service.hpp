// Services and the container that owns them.
//
// A service is anything with a lifetime longer than one call: a database pool, later the queue,
// the cache, the event bus. The container starts services in the order they were added (which is
// their dependency order, decided by the composition root) and stops them in reverse, also when a
// command fails or is interrupted.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace m::core {

/// A long-lived resource with an explicit start and stop.
class Service {
public:
    virtual ~Service() = default;

    /// Name for messages and `m doctor` ("database").
    virtual std::string service_name() const = 0;

    /// Acquires the resource. Throws Error{unavailable} with a precise reason on failure.
    virtual void start() = 0;

    /// Releases the resource. Must not throw; called at most once after a successful start().
    virtual void stop() noexcept = 0;

    /// Checks that the started service works right now (`m doctor`). Throws Error on failure.
    virtual void check() = 0;
};

/// Owns services; starts them in insertion order, stops them in reverse. Not thread-safe.
class Container {
public:
    Container() = default;
    Container(const Container&) = delete;
    Container& operator=(const Container&) = delete;
    ~Container() { stop(); }

    /// Adds a service (not started yet) and returns a typed pointer to it.
    template <class T> T* add(std::unique_ptr<T> service) {
        T* raw = service.get();
        m_services.push_back(std::move(service));
        return raw;
    }

    /// Starts every service not started yet. On failure, stops what was started and rethrows.
    void start();

    /// Stops started services in reverse order. Idempotent.
    void stop() noexcept;

    const std::vector<std::unique_ptr<Service>>& services() const noexcept { return m_services; }

private:
    std::vector<std::unique_ptr<Service>> m_services;
    std::size_t m_started = 0;
};

} // namespace m::core
