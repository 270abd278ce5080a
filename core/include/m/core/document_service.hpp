// The document service: the one place where documents are created, read, changed and deleted.
//
// Every entry point (the CLI now, HTTP and jobs later) goes through this class, so the same
// rules hold everywhere: unknown fields refused, values coerced by type, required/unique/length/
// range/pattern checks with all errors of a document reported together, naming rules, child rows
// saved with their parent, optimistic concurrency on `modified`, submitted documents frozen.
// The caller owns the transaction (UnitOfWork); lifecycle hooks (a later issue) run inside it.
#pragma once

#include "m/core/controller.hpp"
#include "m/core/database.hpp"
#include "m/core/doctype.hpp"
#include "m/core/query.hpp"
#include "m/core/repository.hpp"
#include "m/core/values.hpp"

#include <optional>
#include <string>
#include <vector>

namespace m::core {

class JobQueue;
class JobRegistry;

enum class CountMode { exact, estimated, none };

struct ListResult {
    std::vector<Json> items;
    std::optional<long long> total; ///< nullopt with CountMode::none
    long long limit = 0;
    long long offset = 0;
    bool has_more = false;

    /// {"items","total","limit","offset","has_more"} as the HTTP API answers.
    Json to_json() const;
};

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
                const std::string& user) const;

    /// The document with this id or name, with its child rows. Throws Error{not_found}.
    Json get(Session& session, const std::string& doctype, const std::string& id_or_name) const;

    /// Applies a partial update. A `modified` key in `patch` must equal the stored one
    /// (optimistic concurrency) or Error{conflict} is thrown. Read-only standard keys are ignored.
    Json update(Session& session, const std::string& doctype, const std::string& id_or_name,
                const Json& patch, const std::string& user) const;

    /// Deletes a document and its child rows. Throws Error{not_found|validation}.
    void remove(Session& session, const std::string& doctype, const std::string& id_or_name,
                const std::string& user) const;

    /// Submits a draft of a submittable DocType (docstatus 0 → 1): the declarative checks and
    /// `validate` run again, then `on_submit`. Throws Error{validation} for a DocType that is not
    /// submittable or a document that is not a draft.
    Json submit(Session& session, const std::string& doctype, const std::string& id_or_name,
                const std::string& user) const;

    /// Cancels a submitted document (docstatus 1 → 2) after `on_cancel`.
    Json cancel(Session& session, const std::string& doctype, const std::string& id_or_name,
                const std::string& user) const;

    /// Runs a callable controller method; `id_or_name` may be empty for DocType-level methods.
    /// Throws Error{not_found} for an unknown method. The returned value is the method's result.
    /// Permission checks belong to the caller (the HTTP layer); the CLI acts as an administrator.
    Json call(Session& session, const std::string& doctype, const std::string& id_or_name,
              const std::string& method, const Json& kwargs, const std::string& user) const;

    /// Version records of a document of a track_changes DocType, oldest first:
    /// `{"creation","owner","data":{"changed":[[field,old,new]],"added":[[table,row]],
    /// "removed":[[table,row]],"row_changed":[[table,idx,[[field,old,new]]]]}}`.
    std::vector<Json> versions(Session& session, const std::string& doctype,
                               const std::string& id_or_name) const;

    /// The permission action a callable method needs, or Error{not_found}.
    const std::string& method_permission(const std::string& doctype,
                                         const std::string& method) const;

    /// Lists documents. `query.limit` must be 1..max_limit.
    ListResult list(Session& session, const std::string& doctype, ListQuery query,
                    CountMode count = CountMode::exact) const;

    const MetaRegistry& meta() const noexcept { return m_meta; }

private:
    Json load(Session& session, const DocType& dt, const std::string& id_or_name) const;
    void load_children(Session& session, const DocType& dt, Json& doc) const;
    Json build_fields(Session& session, const DocType& dt, const Json& input, const Json* existing,
                      std::vector<std::string>& errors, const std::string& prefix) const;
    void check_unique(Session& session, const DocType& dt, const Json& doc,
                      const std::string& self_id) const;
    std::string make_name(Session& session, const DocType& dt, const Json& doc,
                          const Json& input) const;
    void save_children(Session& session, const DocType& dt, Json& doc, const std::string& user,
                       bool replace) const;
    Controller& controller(const DocType& dt) const;
    void record_version(Session& session, const DocType& dt, const Json& before, const Json& after,
                        const std::string& user) const;
    void emit(Session& session, const DocType& dt, const char* topic, const Json& doc,
              const std::string& user) const;
    void recheck(const DocType& dt, Json& doc, std::vector<std::string>& errors,
                 const std::string& prefix) const;
    Json transition(Session& session, const DocType& dt, const std::string& id_or_name,
                    const std::string& user, long long from, long long to) const;

    const MetaRegistry& m_meta;
    Database& m_db;
    const JobRegistry* m_job_registry = nullptr;
    JobQueue* m_job_queue = nullptr;
    Repository m_repo;
    const ControllerRegistry* m_controllers;
};

} // namespace m::core
