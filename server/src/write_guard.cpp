// The HTTP write guard (write_guard.hpp).
#include "m/server/write_guard.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>

namespace m::server {

namespace {

using core::Error;
using core::ErrorKind;
using core::Json;

void guard_fields(const core::MetaRegistry& meta, const core::DocumentService& docs,
                  core::Session& session, const core::DocType& root, const core::DocType& dt,
                  const core::Principal& who, Json& values, const std::string& prefix) {
    if (!values.is_object()) return; // the document service names the shape error
    for (const auto& f : dt.fields) {
        auto it = values.find(f.name);
        if (it == values.end()) continue;
        if (f.read_only) {
            values.erase(it);
            continue;
        }
        if (f.type == core::FieldType::table && it->is_array()) {
            const core::DocType& child = meta.get(f.options);
            for (std::size_t i = 0; i < it->size(); ++i) {
                guard_fields(meta, docs, session, root, child, who, (*it)[i],
                             fmt::format("{}field '{}' row {}: ", prefix, f.name, i + 1));
            }
            continue;
        }
        if (f.type != core::FieldType::link || !it->is_string() || it->get<std::string>().empty()) {
            continue;
        }
        const core::DocType& target = meta.get(f.options);
        const std::string value = it->get<std::string>();
        if (!core::allowed(target, who, "read")) {
            throw Error(ErrorKind::permission,
                        fmt::format("DocType '{}': {}field '{}': you may not read {}, so you "
                                    "cannot link to it",
                                    root.name, prefix, f.name, target.name));
        }
        if (!core::rls_applies(target, who)) continue;
        Json doc;
        try {
            doc = docs.get(session, target.name, value);
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::not_found) continue; // the service reports it
            throw;
        }
        auto rls = doc.find(target.rls_field);
        if (!core::rls_visible(target, who, rls == doc.end() ? Json(nullptr) : *rls)) {
            // Word for word what the document service says of a missing target.
            throw Error(ErrorKind::validation,
                        fmt::format("DocType '{}': {}field '{}': {} '{}' does not exist", root.name,
                                    prefix, f.name, target.name, value));
        }
    }
}

} // namespace

void guard_write(const core::MetaRegistry& meta, const core::DocumentService& docs,
                 core::Session& session, const core::DocType& dt, const core::Principal& who,
                 core::Json& body) {
    guard_fields(meta, docs, session, dt, dt, who, body, "");
}

} // namespace m::server
