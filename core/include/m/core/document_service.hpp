// The document service: the one place where documents are created, read, changed and deleted.
//
// Every entry point (HTTP, the CLI, jobs, controllers) goes through this class and names its
// caller (a Principal), so the same rules hold everywhere: role permissions and row-level
// security (a document RLS hides is answered exactly like a missing one), the write rules for
// clients (read_only fields ignored, links only to documents the caller may read), unknown
// fields refused, values coerced by type, required/unique/length/range/pattern checks with all
// errors of a document reported together, naming rules, child rows saved with their parent,
// optimistic concurrency on `modified`, submitted documents frozen. The caller owns the
// transaction (UnitOfWork); lifecycle hooks run inside it and get the caller in their context.
//
// Every operation may also throw Error{unauthenticated} (a guest who must log in) or
// Error{permission} (a user without the role for the action).
#pragma once

#include "m/core/controller.hpp"
#include "m/core/database.hpp"
#include "m/core/doctype.hpp"
#include "m/core/field_errors.hpp"
#include "m/core/permissions.hpp"
#include "m/core/query.hpp"
#include "m/core/repository.hpp"
#include "m/core/values.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace m::core {

class JobQueue;
class JobRegistry;

class DocumentService {
public:
    /// `controllers` may be null (no business logic: only the declarative rules apply).
    DocumentService(const MetaRegistry& meta, Database& db,
                    const ControllerRegistry* controllers = nullptr)
        : m_meta(meta), m_db(db), m_repo(db.dialect()), m_controllers(controllers) {}

    /// Lets hooks enqueue jobs (enqueue_after_commit). Both must outlive the service.
    void set_jobs(const JobRegistry* registry, JobQueue* queue) {
        m_job_registry = registry;
        m_job_queue = queue;
    }

    /// Enqueues job `name` once the session's UnitOfWork has committed (never if it rolls
    /// back). An unknown job name or kwargs that are not an object fail now, in the hook.
    /// Throws Error{unavailable} when this process has no job queue.
    void enqueue_after_commit(Session& session, const std::string& name, const Json& kwargs) const;

    /// Validates and saves a new document; returns it as saved (password fields omitted).
    /// Throws Error{validation} (all field errors in details), Error{conflict} (duplicate name or
    /// unique value), Error{not_found} (unknown DocType).
    Json insert(Session& session, const std::string& doctype, const Json& input,
                const Principal& who) const;

    /// The document with this id or name, with its child rows. Throws Error{not_found}.
    Json get(Session& session, const std::string& doctype, const std::string& id_or_name,
             const Principal& who) const;

    /// Applies a partial update. A `modified` key in `patch` must equal the stored one
    /// (optimistic concurrency) or Error{conflict} is thrown. Read-only standard keys are ignored.
    Json update(Session& session, const std::string& doctype, const std::string& id_or_name,
                const Json& patch, const Principal& who) const;

    /// Deletes a document and its child rows; returns it as it was. Throws
    /// Error{not_found|validation}.
    Json remove(Session& session, const std::string& doctype, const std::string& id_or_name,
                const Principal& who) const;

    /// Submits a draft of a submittable DocType (docstatus 0 → 1): the declarative checks and
    /// `validate` run again, then `on_submit`. Throws Error{validation} for a DocType that is not
    /// submittable or a document that is not a draft.
    Json submit(Session& session, const std::string& doctype, const std::string& id_or_name,
                const Principal& who) const;

    /// Cancels a submitted document (docstatus 1 → 2) after `on_cancel`.
    Json cancel(Session& session, const std::string& doctype, const std::string& id_or_name,
                const Principal& who) const;

    /// Runs a callable controller method; `id_or_name` may be empty for DocType-level methods.
    /// Throws Error{not_found} for an unknown method. The caller needs the permission the
    /// method was registered with. The returned value is the method's result.
    Json call(Session& session, const std::string& doctype, const std::string& id_or_name,
              const std::string& method, const Json& kwargs, const Principal& who) const;

    /// Version records of a document of a track_changes DocType, oldest first:
    /// `{"creation","owner","data":{"changed":[[field,old,new]],"added":[[table,row]],
    /// "removed":[[table,row]],"row_changed":[[table,idx,[[field,old,new]]]]}}`.
    std::vector<Json> versions(Session& session, const std::string& doctype,
                               const std::string& id_or_name, const Principal& who) const;

    /// Throws unless `who` may do `action` on `doctype` -- what every operation checks first.
    /// For entry points that parse a caller's input before the operation (an HTTP body, list
    /// filters): a caller without the right learns nothing from how their input is judged.
    void authorize(const std::string& doctype, const Principal& who,
                   std::string_view action) const {
        require(m_meta.get(doctype), who, action);
    }

    /// The permission action a callable method needs, or Error{not_found}.
    const std::string& method_permission(const std::string& doctype,
                                         const std::string& method) const;

    /// Lists documents (for a caller under RLS, only theirs). `query.limit` must be 1..max_limit.
    ListResult list(Session& session, const std::string& doctype, ListQuery query,
                    const Principal& who, CountMode count = CountMode::exact) const;

    const MetaRegistry& meta() const noexcept { return m_meta; }

private:
    Json load(Session& session, const DocType& dt, const std::string& id_or_name) const;
    /// load() for `who`: a document RLS hides from them is not found.
    Json load_for(Session& session, const DocType& dt, const std::string& id_or_name,
                  const Principal& who) const;
    /// The write rules for clients (document_access.cpp): drops read_only fields from `input`
    /// and checks that its links point at documents `who` may read. The system is exempt.
    void guard_input(Session& session, const DocType& dt, const Principal& who, Json& input) const;
    void load_children(Session& session, const DocType& dt, Json& doc) const;
    // document_checks.cpp: values from input, coerced and checked; errors go into `errors` at
    // `at` (the document, or a row of a table field).
    Json build_fields(Session& session, const DocType& dt, const Json& input, const Json* existing,
                      FieldErrors& errors, const FieldPath& at) const;
    Json build_rows(Session& session, const Field& table, const Json& value,
                    FieldErrors& errors) const;
    /// Hooks may change the document; what they wrote must still fit the metadata.
    void recheck(const DocType& dt, Json& doc, FieldErrors& errors, const FieldPath& at) const;
    void check_unique(Session& session, const DocType& dt, const Json& doc,
                      const std::string& self_id) const;
    /// document_naming.cpp: the name by the naming rule.
    std::string make_name(Session& session, const DocType& dt, const Json& doc,
                          const Json& input) const;
    /// A new document's standard fields and `fields`; the id the input gives, else a new UUID.
    Json new_document(const Json& input, const Json& fields, const std::string& user) const;
    /// Names `doc`; Error{conflict} when the name or the given id is taken.
    void assign_name(Session& session, const DocType& dt, Json& doc, const Json& input) const;
    /// Error{conflict, reason stale} when the patch's `modified` is not the stored one.
    void check_not_stale(const DocType& dt, const Json& current, const Json& patch) const;
    /// The fields a patch may change (unknown fields and edits of a submitted document refused).
    Json changes_of(const DocType& dt, const Json& current, const Json& patch) const;
    /// The columns to write: what differs from the stored document.
    Json changed_columns(const DocType& dt, const Json& current, const Json& doc,
                         const Json& changes, bool& children_changed) const;
    void save_children(Session& session, const DocType& dt, Json& doc, const std::string& user,
                       bool replace) const;
    Controller& controller(const DocType& dt) const;
    void record_version(Session& session, const DocType& dt, const Json& before, const Json& after,
                        const std::string& user) const;
    void emit(Session& session, const DocType& dt, const char* topic, const Json& doc,
              const std::string& user) const;
    Json transition(Session& session, const DocType& dt, const std::string& id_or_name,
                    const Principal& who, long long from, long long to) const;

    const MetaRegistry& m_meta;
    Database& m_db;
    const JobRegistry* m_job_registry = nullptr;
    JobQueue* m_job_queue = nullptr;
    Repository m_repo;
    const ControllerRegistry* m_controllers;
};

} // namespace m::core
