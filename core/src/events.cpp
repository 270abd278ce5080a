#include "m/core/events.hpp"

#include "m/core/error.hpp"

#include <chrono>

namespace m::core {

namespace {

std::string string_of(const Json& doc, const char* key) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

} // namespace

Json DocEvent::payload() const {
    Json j = Json::object();
    j["doctype"] = doctype;
    j["id"] = doc_id;
    j["name"] = name;
    j["docstatus"] = docstatus;
    j["modified"] = modified;
    j["user"] = user;
    return j;
}

DocEvent DocEvent::of(std::string topic, const std::string& doctype, const Json& doc,
                      const std::string& rls_field, const std::string& user) {
    DocEvent e;
    e.topic = std::move(topic);
    e.doctype = doctype;
    e.doc_id = string_of(doc, "id");
    e.name = string_of(doc, "name");
    auto ds = doc.find("docstatus");
    if (ds != doc.end() && ds->is_number_integer()) e.docstatus = ds->get<long long>();
    e.modified = string_of(doc, "modified");
    e.user = user;
    auto rls = doc.find(rls_field);
    if (rls != doc.end()) e.rls_value = *rls;
    return e;
}

Json DocEvent::to_wire() const {
    Json j = payload();
    j["topic"] = topic;
    j["rls"] = rls_value;
    if (!source.empty()) j["source"] = source;
    return j;
}

DocEvent DocEvent::from_wire(const Json& wire) {
    auto text = [&](const char* key) {
        auto it = wire.find(key);
        if (it == wire.end() || !it->is_string()) {
            throw Error(ErrorKind::validation,
                        std::string("an event needs a string member '") + key + "'");
        }
        return it->get<std::string>();
    };
    if (!wire.is_object()) throw Error(ErrorKind::validation, "an event must be a JSON object");
    DocEvent e;
    e.topic = text("topic");
    e.doctype = text("doctype");
    e.doc_id = text("id");
    e.name = text("name");
    e.modified = text("modified");
    e.user = text("user");
    auto ds = wire.find("docstatus");
    if (ds == wire.end() || !ds->is_number_integer()) {
        throw Error(ErrorKind::validation, "an event needs an integer member 'docstatus'");
    }
    e.docstatus = ds->get<long long>();
    if (auto rls = wire.find("rls"); rls != wire.end()) e.rls_value = *rls;
    if (auto src = wire.find("source"); src != wire.end() && src->is_string()) {
        e.source = src->get<std::string>();
    }
    return e;
}

InProcessEventBus::InProcessEventBus(std::size_t capacity) : m_capacity(capacity ? capacity : 1) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    m_first_id = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now).count());
    m_next_id = m_first_id;
}

void InProcessEventBus::publish(std::vector<DocEvent> events) {
    std::lock_guard lock(m_mutex);
    for (auto& e : events) {
        e.id = m_next_id++;
        m_recent.push_back(e);
        if (m_recent.size() > m_capacity) m_recent.pop_front();
    }
    // Handlers run under the lock, so every subscriber sees events in id order even when two
    // requests publish at once, and replay() cannot interleave with a publish.
    for (const auto& e : events) {
        for (const auto& [_, handler] : m_handlers) handler(e);
    }
}

std::uint64_t InProcessEventBus::subscribe(Handler handler) {
    std::lock_guard lock(m_mutex);
    m_handlers.emplace_back(m_next_subscription, std::move(handler));
    return m_next_subscription++;
}

void InProcessEventBus::unsubscribe(std::uint64_t subscription) {
    std::lock_guard lock(m_mutex);
    std::erase_if(m_handlers, [&](const auto& h) { return h.first == subscription; });
}

void InProcessEventBus::replay(std::optional<std::uint64_t> last_id,
                               const std::function<void(Missed)>& then) {
    std::lock_guard lock(m_mutex);
    if (!last_id) {
        then(std::vector<DocEvent>{});
        return;
    }
    // An id this process never gave out (from an earlier process, or made up), or one older than
    // what is kept: events may have been missed in between.
    std::uint64_t oldest_kept = m_recent.empty() ? m_next_id : m_recent.front().id;
    if (*last_id + 1 < m_first_id || *last_id >= m_next_id || *last_id + 1 < oldest_kept) {
        then(std::nullopt);
        return;
    }
    std::vector<DocEvent> out;
    for (const auto& e : m_recent) {
        if (e.id > *last_id) out.push_back(e);
    }
    then(std::move(out));
}

} // namespace m::core
