#include "m/core/service.hpp"

namespace m::core {

void Container::start() {
    try {
        for (; m_started < m_services.size(); ++m_started) {
            m_services[m_started]->start();
        }
    } catch (...) {
        stop();
        throw;
    }
}

void Container::stop() noexcept {
    while (m_started > 0) {
        --m_started;
        m_services[m_started]->stop();
    }
}

} // namespace m::core
