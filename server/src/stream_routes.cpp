// The live stream of `m serve` (docs/reference/jobs-events.md, "Live stream"): Server-Sent Events
// of the document changes a caller may see, resumable with Last-Event-ID, at most
// server.max_streams_per_user open per user, ended when the session is revoked or expires.
#include "stream.hpp"

#include "routes.hpp"

#include "m/core/values.hpp"

#include <fmt/format.h>

#include <ctime>
#include <optional>

namespace m::server {

void StreamSlots::take(const std::string& user) {
    std::lock_guard lock(m_mutex);
    std::size_t& n = m_open[user];
    if (n >= m_max) {
        throw Error(ErrorKind::rate_limited,
                    fmt::format("at most {} open live streams per user", m_max),
                    core::Json{{"retry_after", 5}});
    }
    ++n;
}

void StreamSlots::give_back(const std::string& user) {
    std::lock_guard lock(m_mutex);
    auto it = m_open.find(user);
    if (it != m_open.end() && --it->second == 0) m_open.erase(it);
}

namespace {

std::string frame_of(const core::DocEvent& e) {
    return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", e.id, e.topic, e.payload().dump());
}

bool visible(const core::DocType& dt, const StreamState& state, const core::DocEvent& e) {
    if (!state.doctypes.empty() && !state.doctypes.count(e.doctype)) return false;
    return core::allowed(dt, state.who, "read") && core::rls_visible(dt, state.who, e.rls_value);
}

/// `?doctypes=A,B`: each must be an API DocType the caller may read.
void follow_doctypes(Api& api, const httplib::Request& req, StreamState& state) {
    if (!req.has_param("doctypes")) return;
    const std::string list = req.get_param_value("doctypes");
    std::size_t pos = 0;
    while (pos <= list.size()) {
        std::size_t comma = list.find(',', pos);
        if (comma == std::string::npos) comma = list.size();
        std::string name = list.substr(pos, comma - pos);
        if (!name.empty()) {
            const core::DocType& dt = api.doctype(name);
            core::require(dt, state.who, "read");
            state.doctypes.insert(dt.name);
        }
        pos = comma + 1;
    }
}

/// Last-Event-ID (or `?last_event_id=`): the event to resume after.
std::optional<std::uint64_t> last_event_id(const httplib::Request& req) {
    std::string last = req.get_header_value("Last-Event-ID");
    if (last.empty() && req.has_param("last_event_id")) last = req.get_param_value("last_event_id");
    if (last.empty()) return std::nullopt;
    const auto id = core::parse_integer(last);
    if (!id || *id < 0) {
        throw Error(ErrorKind::validation,
                    fmt::format("Last-Event-ID must be an event id, got '{}'", last));
    }
    return static_cast<std::uint64_t>(*id);
}

} // namespace

bool stream_expired(void* raw) {
    const auto* state = static_cast<const StreamState*>(raw);
    return state->expires != 0 && state->expires <= std::time(nullptr);
}

void push_event(Api& api, const core::DocEvent& e) {
    if (e.doctype == core::k_session_doctype && e.topic != "doc.created") {
        // Revoked (logout, or the user's credentials changed, in any process): its tokens are
        // refused from now on and its open streams end.
        api.auth.session_revoked(e.doc_id);
        api.http.close_streams([&](void* raw) {
            return static_cast<const StreamState*>(raw)->session_id == e.doc_id;
        });
    } else if (e.doctype == core::k_user_doctype && e.topic != "doc.created") {
        api.auth.user_changed(e.name);
        api.http.close_streams([&](void* raw) { // API-key streams have no session to revoke
            const auto* state = static_cast<const StreamState*>(raw);
            return state->session_id.empty() && state->who.user == e.name;
        });
    }
    const core::DocType* dt = api.meta.find(e.doctype);
    // Internal DocTypes (Auth Session: every login and refresh) have no API, so no events.
    if (!dt || !dt->api_resource) return;
    const std::string frame = frame_of(e);
    api.http.publish([&](void* raw) -> std::string {
        return visible(*dt, *static_cast<const StreamState*>(raw), e) ? frame : std::string();
    });
}

void stream(Api& api, const httplib::Request& req, httplib::Response& res) {
    TokenInfo token;
    core::Principal who = api.authenticate(req, true, &token);
    if (who.is_guest()) {
        throw Error(ErrorKind::unauthenticated, "authentication required for the stream");
    }
    auto state = std::make_shared<StreamState>();
    state->who = who;
    state->session_id = token.session_id;
    state->expires = token.expires;
    follow_doctypes(api, req, *state);
    const std::optional<std::uint64_t> last_id = last_event_id(req);
    api.stream_slots->take(who.user); // given back when the stream ends
    state->release = [slots = api.stream_slots, user = who.user] { slots->give_back(user); };
    api.events.replay(last_id, [&](core::EventBus::Missed missed) {
        std::string initial = "retry: 2000\n: connected\n\n";
        if (!missed) {
            // Too old to replay: tell the client to reload what it shows.
            initial += "event: reset\ndata: {\"reason\":\"missed events\"}\n\n";
        } else {
            for (const auto& e : *missed) {
                const core::DocType* dt = api.meta.find(e.doctype);
                if (dt && dt->api_resource && visible(*dt, *state, e)) initial += frame_of(e);
            }
        }
        api.http.open_stream(res, std::move(initial), state);
    });
}

} // namespace m::server
