// What an HTTP caller may write, checked before the document service sees a create or update
// body (docs/ARCHITECTURE.md, threat model, "what a caller may learn"):
//
//   - read_only fields are ignored on create as they are on update (clients never set them; the
//     shell and controllers, which act as the system, still can);
//   - a link may only point at a document the caller may read: without read permission on the
//     target DocType the write is refused (403) whether the target exists or not, and a target
//     hidden by row-level security is answered exactly like a missing one. Otherwise 201 vs 400
//     would tell a caller which users, say, exist.
//
// Child rows get the same treatment. The document service itself still checks that links exist.
#pragma once

#include "m/core/database.hpp"
#include "m/core/doctype.hpp"
#include "m/core/document_service.hpp"
#include "m/core/permissions.hpp"
#include "m/core/values.hpp"

namespace m::server {

/// Drops read_only fields from `body` and checks its links for `who`. Throws core::Error
/// (permission, validation).
void guard_write(const core::MetaRegistry& meta, const core::DocumentService& docs,
                 core::Session& session, const core::DocType& dt, const core::Principal& who,
                 core::Json& body);

} // namespace m::server
