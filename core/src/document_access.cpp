// What a caller may see and write, as the document service checks it (document_service.hpp):
// row-level security on the documents an operation loads, and the write rules for clients.
//
//   - read_only fields are ignored on create as they are on update (clients never set them; the
//     system -- the CLI, a controller that asks for it -- still can);
//   - a link may only point at a document the caller may read: without read permission on the
//     target DocType the write is refused (403) whether the target exists or not, and a target
//     hidden by row-level security is answered exactly like a missing one. Otherwise 201 vs 400
//     would tell a caller which users, say, exist.
//
// Child rows get the same treatment. That links exist at all is checked with the other field
// rules (build_fields).
#include "m/core/document_service.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>

namespace m::core {

namespace {

Json rls_value(const DocType& dt, const Json& doc) {
    auto it = doc.find(dt.rls_field);
    return it == doc.end() ? Json(nullptr) : *it;
}

} // namespace

Json DocumentService::load_for(Session& session, const DocType& dt, const std::string& id_or_name,
                               const Principal& who) const {
    Json doc = load(session, dt, id_or_name);
    if (!rls_visible(dt, who, rls_value(dt, doc))) {
        // Word for word what load() says of a missing document.
        throw Error(
            ErrorKind::not_found,
            fmt::format("{} '{}' not found", dt.name,
                        id_or_name.size() > 80 ? id_or_name.substr(0, 77) + "..." : id_or_name));
    }
    return doc;
}

void DocumentService::guard_input(Session& session, const DocType& dt, const Principal& who,
                                  Json& input) const {
    if (who.system) return;
    // (root, dt, values, prefix): the DocType named in errors, the one whose fields these are.
    auto guard = [&](auto& self, const DocType& of, Json& values, const std::string& prefix) {
        if (!values.is_object()) return; // build_fields names the shape error
        for (const auto& f : of.fields) {
            auto it = values.find(f.name);
            if (it == values.end()) continue;
            if (f.read_only) {
                values.erase(it);
                continue;
            }
            if (f.type == FieldType::table && it->is_array()) {
                const DocType& child = m_meta.get(f.options);
                for (std::size_t i = 0; i < it->size(); ++i) {
                    self(self, child, (*it)[i],
                         fmt::format("{}field '{}' row {}: ", prefix, f.name, i + 1));
                }
                continue;
            }
            if (f.type != FieldType::link || !it->is_string() || it->get<std::string>().empty()) {
                continue;
            }
            const DocType& target = m_meta.get(f.options);
            const std::string value = it->get<std::string>();
            if (!allowed(target, who, "read")) {
                throw Error(ErrorKind::permission,
                            fmt::format("DocType '{}': {}field '{}': you may not read {}, so you "
                                        "cannot link to it",
                                        dt.name, prefix, f.name, target.name));
            }
            if (!rls_applies(target, who)) continue;
            Json doc;
            try {
                doc = load(session, target, value);
            } catch (const Error& e) {
                if (e.kind() == ErrorKind::not_found) continue; // build_fields reports it
                throw;
            }
            if (!rls_visible(target, who, rls_value(target, doc))) {
                // Word for word what build_fields says of a missing target.
                throw Error(ErrorKind::validation,
                            fmt::format("DocType '{}': {}field '{}': {} '{}' does not exist",
                                        dt.name, prefix, f.name, target.name, value));
            }
        }
    };
    guard(guard, dt, input, "");
}

} // namespace m::core
