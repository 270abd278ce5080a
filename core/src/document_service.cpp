// The document service: the one writer of documents (docs/reference/doctypes.md, "Lifecycle").
// The operations are here; building and checking values is document_checks.cpp, names
// document_naming.cpp, versions document_versions.cpp, the client write rules document_access.cpp.
#include "m/core/document_service.hpp"

#include "document_internal.hpp"

#include "m/core/accounts.hpp"
#include "m/core/core_app.hpp"
#include "m/core/error.hpp"
#include "m/core/field_errors.hpp"
#include "m/core/jobs.hpp"
#include "m/core/outbox.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

namespace m::core {

using detail::in_field_order;
using detail::is_empty_value;
using detail::run_hook;

namespace detail {

Json in_field_order(const MetaRegistry& meta, const DocType& dt, const Json& doc) {
    Json out = Json::object();
    for (const auto& f : dt.columns()) {
        if (f.type == FieldType::password) continue;
        auto it = doc.find(f.name);
        if (it != doc.end()) out[f.name] = *it;
    }
    for (const auto& f : dt.fields) {
        if (f.type != FieldType::table) continue;
        const DocType& child = meta.get(f.options);
        Json rows = Json::array();
        if (auto it = doc.find(f.name); it != doc.end()) {
            for (const auto& row : *it) rows.push_back(in_field_order(meta, child, row));
        }
        // Insert the table where it was declared among the fields.
        out[f.name] = std::move(rows);
    }
    if (!dt.fields.empty()) {
        Json ordered = Json::object();
        for (const auto& f : dt.columns()) {
            if (!f.standard) break;
            if (out.contains(f.name)) ordered[f.name] = out[f.name];
        }
        for (const auto& f : dt.fields) {
            if (out.contains(f.name)) ordered[f.name] = out[f.name];
        }
        return ordered;
    }
    return out;
}

} // namespace detail

Controller& DocumentService::controller(const DocType& dt) const {
    static Controller no_op;
    return m_controllers ? m_controllers->get(dt.name) : no_op;
}

void DocumentService::save_children(Session& session, const DocType& dt, Json& doc,
                                    const std::string& user, bool replace) const {
    for (const auto& f : dt.fields) {
        if (f.type != FieldType::table) continue;
        const DocType& child = m_meta.get(f.options);
        if (replace)
            m_repo.delete_children(session, child, doc.at("id").get<std::string>(), f.name);
        Json& rows = doc[f.name];
        long long idx = 0;
        for (auto& row : rows) {
            if (!row.contains("id")) {
                row["id"] = new_uuid();
            } else if (m_repo.exists(session, child, "id", row.at("id"))) {
                // This document's own rows were deleted above: the id is another document's.
                throw Error(
                    ErrorKind::conflict,
                    fmt::format("DocType '{}': field '{}' row {}: row id {} belongs to "
                                "another document",
                                dt.name, f.name, idx + 1, row.at("id").get<std::string>()),
                    Json{{"reason", "duplicate_row_id"}, {"field", f.name}, {"row", idx + 1}});
            }
            row["name"] = row["id"];
            row["owner"] = doc.at("owner");
            row["creation"] = doc.at("modified");
            row["modified"] = doc.at("modified");
            row["modified_by"] = user;
            row["docstatus"] = doc.at("docstatus");
            row["parent_id"] = doc.at("id");
            row["parent_doctype"] = dt.name;
            row["parent_field"] = f.name;
            row["idx"] = ++idx;
            m_repo.insert(session, child, row);
            for (const auto& cf : child.fields) {
                if (cf.type == FieldType::password) row.erase(cf.name);
            }
        }
    }
}

Json DocumentService::new_document(const Json& input, const Json& fields,
                                   const std::string& user) const {
    Json doc = Json::object();
    std::string id = new_uuid();
    if (input.contains("id") && input.at("id").is_string()) {
        Field idf;
        idf.name = "id";
        idf.type = FieldType::uuid;
        id = coerce_value(idf, input.at("id")).get<std::string>();
    }
    std::string now = now_timestamp();
    doc["id"] = id;
    doc["name"] = nullptr;
    doc["owner"] = user;
    doc["creation"] = now;
    doc["modified"] = now;
    doc["modified_by"] = user;
    doc["docstatus"] = 0;
    for (auto& [k, v] : fields.items()) doc[k] = v;
    return doc;
}

void DocumentService::assign_name(Session& session, const DocType& dt, Json& doc,
                                  const Json& input) const {
    std::string name = make_name(session, dt, doc, input);
    if (name.size() > 140) {
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}': name '{}...' is longer than 140 characters", dt.name,
                                name.substr(0, 40)));
    }
    doc["name"] = name;
    if (m_repo.exists(session, dt, "name", Json(name))) {
        // With naming by a field, the field is what the user must change.
        Json details{{"reason", "duplicate_name"},
                     {"field", nullptr},
                     {"message", fmt::format("a document named '{}' already exists", name)}};
        if (dt.naming.kind == NamingRule::Kind::field) details["field"] = dt.naming.argument;
        if (dt.naming.kind == NamingRule::Kind::prompt) details["field"] = "name";
        throw Error(
            ErrorKind::conflict,
            fmt::format("DocType '{}': a document named '{}' already exists", dt.name, name),
            details);
    }
    // A generated UUID cannot collide; only an id given by the caller needs the round trip.
    const std::string& id = doc.at("id").get_ref<const std::string&>();
    const bool id_given = input.contains("id") && input.at("id").is_string();
    if (id_given && m_repo.exists(session, dt, "id", Json(id))) {
        throw Error(
            ErrorKind::conflict,
            fmt::format("DocType '{}': a document with id '{}' already exists", dt.name, id),
            Json{{"reason", "duplicate_id"}, {"field", "id"}});
    }
}

Json DocumentService::insert(Session& session, const std::string& doctype, const Json& given,
                             const Principal& who) const {
    const DocType& dt = m_meta.get(doctype);
    require(dt, who, "create");
    const std::string& user = who.user;
    if (dt.is_child_table) {
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}' is a child table: its rows are saved with their "
                                "parent document",
                                dt.name));
    }
    if (!given.is_object()) {
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}': a document must be a JSON object", dt.name));
    }
    Json input = given;
    guard_input(session, dt, who, input);
    FieldErrors errors;
    for (const auto& [key, _] : input.items()) {
        if (!dt.find(key)) {
            errors.add({}, key, FieldErrorCode::unknown_field,
                       fmt::format("unknown field '{}'", key));
        }
    }
    Json fields = build_fields(session, dt, input, nullptr, errors, {});
    errors.raise_if_any(dt.name);
    Json doc = new_document(input, fields, user);

    Controller& ctl = controller(dt);
    HookContext ctx{who, session, Documents(*this, session, who), dt};
    run_hook(dt, "validate", [&] { ctl.validate(doc, ctx); });
    run_hook(dt, "before_insert", [&] { ctl.before_insert(doc, ctx); });
    run_hook(dt, "before_save", [&] { ctl.before_save(doc, ctx); });
    recheck(dt, doc, errors, {});
    errors.raise_if_any(dt.name);

    assign_name(session, dt, doc, input);
    check_unique(session, dt, doc, {});
    Json row = doc;
    for (const auto& f : dt.fields) {
        if (f.type == FieldType::table) row.erase(f.name);
    }
    m_repo.insert(session, dt, row);
    save_children(session, dt, doc, user, false);
    Json saved = in_field_order(m_meta, dt, doc);
    run_hook(dt, "after_insert", [&] { ctl.after_insert(saved, ctx); });
    run_hook(dt, "after_save", [&] { ctl.after_save(saved, ctx); });
    emit(session, dt, "doc.created", saved, user);
    return saved;
}

Json DocumentService::load(Session& session, const DocType& dt, const std::string& key) const {
    std::optional<Json> row;
    if (valid_uuid(key)) {
        std::string lower = key;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        row = m_repo.find(session, dt, "id", lower);
    }
    if (!row) row = m_repo.find(session, dt, "name", key);
    if (!row) {
        throw Error(ErrorKind::not_found,
                    fmt::format("{} '{}' not found", dt.name,
                                key.size() > 80 ? key.substr(0, 77) + "..." : key));
    }
    return *row;
}

void DocumentService::load_children(Session& session, const DocType& dt, Json& doc) const {
    for (const auto& f : dt.fields) {
        if (f.type != FieldType::table) continue;
        const DocType& child = m_meta.get(f.options);
        Json rows = Json::array();
        for (auto& r : m_repo.children(session, child, doc.at("id").get<std::string>(), f.name)) {
            rows.push_back(std::move(r));
        }
        doc[f.name] = std::move(rows);
    }
}

Json DocumentService::get(Session& session, const std::string& doctype,
                          const std::string& id_or_name, const Principal& who) const {
    const DocType& dt = m_meta.get(doctype);
    require(dt, who, "read");
    Json doc = load_for(session, dt, id_or_name, who);
    load_children(session, dt, doc);
    return in_field_order(m_meta, dt, doc);
}

void DocumentService::check_not_stale(const DocType& dt, const Json& current,
                                      const Json& patch) const {
    if (!patch.contains("modified") || patch.at("modified").is_null()) return;
    Field mf;
    mf.name = "modified";
    mf.type = FieldType::datetime;
    Json given = coerce_value(mf, patch.at("modified"));
    const std::string& stored = current.at("modified").get_ref<const std::string&>();
    if (given.get<std::string>() != stored) {
        throw Error(ErrorKind::conflict,
                    fmt::format("{} '{}' was modified by someone else at {} (your copy is "
                                "from {}); reload and try again",
                                dt.name, current.at("name").get<std::string>(), stored,
                                given.get<std::string>()),
                    Json{{"reason", "stale"}, {"modified", stored}});
    }
}

Json DocumentService::changes_of(const DocType& dt, const Json& current, const Json& patch) const {
    FieldErrors errors;
    Json changes = Json::object();
    const bool submitted = current.at("docstatus").get<long long>() == 1;
    for (const auto& [key, value] : patch.items()) {
        const Field* f = dt.find(key);
        if (!f) {
            errors.add({}, key, FieldErrorCode::unknown_field,
                       fmt::format("unknown field '{}'", key));
            continue;
        }
        if (f->standard) continue; // read-only keys are ignored
        if (submitted && !f->allow_on_submit && value != current.value(key, Json(nullptr))) {
            errors.add({}, key, FieldErrorCode::not_editable,
                       fmt::format("field '{}' cannot change: the document is submitted", key));
            continue;
        }
        // Set by the controller, not by clients (docs/reference/doctypes.md, "Lifecycle").
        if (f->read_only) continue;
        changes[key] = value;
    }
    errors.raise_if_any(dt.name);
    return changes;
}

Json DocumentService::changed_columns(const DocType& dt, const Json& current, const Json& doc,
                                      const Json& changes, bool& children_changed) const {
    // Every field whose value differs from the stored one: the patch and what hooks set.
    FieldErrors errors;
    Json row = Json::object();
    children_changed = false;
    for (const auto& f : dt.fields) {
        Json before = current.value(f.name, Json(nullptr));
        Json after = doc.value(f.name, Json(nullptr));
        if (before == after && !(f.type == FieldType::table && changes.contains(f.name))) continue;
        if (current.at("docstatus").get<long long>() != 0 && !f.allow_on_submit) {
            errors.add({}, f.name, FieldErrorCode::not_editable,
                       fmt::format("field '{}' cannot change: the document is submitted", f.name));
            continue;
        }
        if (f.type == FieldType::table)
            children_changed = true;
        else
            row[f.name] = after;
    }
    errors.raise_if_any(dt.name);
    return row;
}

Json DocumentService::update(Session& session, const std::string& doctype,
                             const std::string& id_or_name, const Json& given,
                             const Principal& who) const {
    const DocType& dt = m_meta.get(doctype);
    require(dt, who, "write");
    const std::string& user = who.user;
    if (!given.is_object()) {
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}': an update must be a JSON object", dt.name));
    }
    Json current = load_for(session, dt, id_or_name, who);
    Json patch = given;
    guard_input(session, dt, who, patch);
    load_children(session, dt, current);
    if (current.at("docstatus").get<long long>() == 2) {
        throw Error(ErrorKind::validation,
                    fmt::format("{} '{}' is cancelled and cannot be changed", dt.name,
                                current.at("name").get<std::string>()));
    }
    std::string id = current.at("id").get<std::string>();
    check_not_stale(dt, current, patch);
    Json changes = changes_of(dt, current, patch);
    FieldErrors errors;
    Json fields = build_fields(session, dt, changes, &current, errors, {});
    errors.raise_if_any(dt.name);
    Json doc = current;
    for (auto& [k, v] : fields.items()) doc[k] = v;

    Controller& ctl = controller(dt);
    HookContext ctx{who, session, Documents(*this, session, who), dt};
    run_hook(dt, "validate", [&] { ctl.validate(doc, ctx); });
    run_hook(dt, "before_save", [&] { ctl.before_save(doc, ctx); });
    recheck(dt, doc, errors, {});
    errors.raise_if_any(dt.name);

    bool children_changed = false;
    Json row = changed_columns(dt, current, doc, changes, children_changed);
    check_unique(session, dt, doc, id);
    std::string now = now_timestamp();
    doc["modified"] = now;
    doc["modified_by"] = user;
    row["modified"] = now;
    row["modified_by"] = user;
    if (m_repo.update(session, dt, id, row, current.at("modified").get<std::string>()) == 0) {
        throw Error(ErrorKind::conflict,
                    fmt::format("{} '{}' was changed or deleted by someone else; reload and try "
                                "again",
                                dt.name, current.at("name").get<std::string>()),
                    Json{{"reason", "stale"}});
    }
    if (children_changed) save_children(session, dt, doc, user, true);
    Json saved = in_field_order(m_meta, dt, doc);
    record_version(session, dt, current, saved, user);
    run_hook(dt, "after_save", [&] { ctl.after_save(saved, ctx); });
    const bool password_set = std::any_of(dt.fields.begin(), dt.fields.end(), [&](const Field& f) {
        return f.type == FieldType::password && fields.contains(f.name);
    });
    if (dt.name == k_user_doctype && credentials_changed(current, saved, password_set)) {
        revoke_sessions(*this, session, saved.at("name").get<std::string>(), who);
    }
    emit(session, dt, "doc.updated", saved, user);
    return saved;
}

Json DocumentService::remove(Session& session, const std::string& doctype,
                             const std::string& id_or_name, const Principal& who) const {
    const DocType& dt = m_meta.get(doctype);
    require(dt, who, "delete");
    const std::string& user = who.user;
    Json current = load_for(session, dt, id_or_name, who);
    if (current.at("docstatus").get<long long>() == 1) {
        throw Error(ErrorKind::validation,
                    fmt::format("{} '{}' is submitted and cannot be deleted; cancel it first",
                                dt.name, current.at("name").get<std::string>()));
    }
    load_children(session, dt, current);
    Json doc = in_field_order(m_meta, dt, current);
    Controller& ctl = controller(dt);
    HookContext ctx{who, session, Documents(*this, session, who), dt};
    run_hook(dt, "before_delete", [&] { ctl.before_delete(doc, ctx); });
    std::string id = doc.at("id").get<std::string>();
    for (const auto& f : dt.fields) {
        if (f.type == FieldType::table) {
            m_repo.delete_children(session, m_meta.get(f.options), id, f.name);
        }
    }
    if (dt.name == k_user_doctype) {
        revoke_sessions(*this, session, doc.at("name").get<std::string>(), who);
    }
    m_repo.remove(session, dt, id);
    run_hook(dt, "after_delete", [&] { ctl.after_delete(doc, ctx); });
    emit(session, dt, "doc.deleted", doc, user);
    return doc;
}

void DocumentService::enqueue_after_commit(Session& session, const std::string& name,
                                           const Json& kwargs) const {
    if (!m_job_registry || !m_job_queue) {
        throw Error(ErrorKind::unavailable,
                    fmt::format("cannot enqueue job '{}': this process has no job queue", name));
    }
    const JobDef& def = m_job_registry->get(name);
    if (!kwargs.is_object()) {
        throw Error(ErrorKind::validation,
                    fmt::format("job '{}': kwargs must be a JSON object", name));
    }
    // The embedded queue takes the job in this very transaction; a broker only after the commit,
    // and then a failure cannot undo the saved document: it is logged, not thrown.
    if (m_job_queue->enqueue_in(session, def, kwargs)) return;
    JobQueue* queue = m_job_queue;
    session.on_commit([queue, &def, kwargs] {
        try {
            queue->enqueue(def, kwargs);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "m: job '%s' was not enqueued after the commit: %s\n",
                         def.name.c_str(), e.what());
        }
    });
}

void DocumentService::emit(Session& session, const DocType& dt, const char* topic, const Json& doc,
                           const std::string& user) const {
    // The transactional outbox: the event commits or rolls back with the change
    // (docs/reference/jobs-events.md, "The transactional outbox").
    record_event(session, m_db.dialect(), DocEvent::of(topic, dt.name, doc, dt.rls_field, user));
}

Json DocumentService::transition(Session& session, const DocType& dt, const std::string& id_or_name,
                                 const Principal& who, long long from, long long to) const {
    const char* verb = to == 1 ? "submit" : "cancel";
    require(dt, who, verb);
    const std::string& user = who.user;
    if (!dt.is_submittable) {
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}' is not submittable, so it cannot {}", dt.name, verb));
    }
    Json current = load_for(session, dt, id_or_name, who);
    load_children(session, dt, current);
    const std::string name = current.at("name").get<std::string>();
    long long status = current.at("docstatus").get<long long>();
    if (status != from) {
        static const char* states[] = {"a draft", "submitted", "cancelled"};
        throw Error(ErrorKind::validation, fmt::format("cannot {} {} '{}': it is {}", verb, dt.name,
                                                       name, states[std::clamp(status, 0LL, 2LL)]));
    }
    Json doc = in_field_order(m_meta, dt, current);
    FieldErrors errors;
    Controller& ctl = controller(dt);
    HookContext ctx{who, session, Documents(*this, session, who), dt};
    if (to == 1) {
        // A submitted document is final: required fields are checked again, then `validate`.
        for (const auto& f : dt.fields) {
            if (f.required && is_empty_value(current.value(f.name, Json(nullptr)))) {
                errors.add({}, f.name, FieldErrorCode::required,
                           fmt::format("field '{}' is required", f.name));
            }
        }
        errors.raise_if_any(dt.name);
        run_hook(dt, "validate", [&] { ctl.validate(doc, ctx); });
        run_hook(dt, "on_submit", [&] { ctl.on_submit(doc, ctx); });
    } else {
        run_hook(dt, "on_cancel", [&] { ctl.on_cancel(doc, ctx); });
    }
    recheck(dt, doc, errors, {});
    errors.raise_if_any(dt.name);
    Json row = Json::object();
    for (const auto& f : dt.fields) {
        if (f.type == FieldType::table) continue;
        if (doc.value(f.name, Json(nullptr)) != current.value(f.name, Json(nullptr))) {
            row[f.name] = doc.value(f.name, Json(nullptr));
        }
    }
    std::string now = now_timestamp();
    row["docstatus"] = to;
    row["modified"] = now;
    row["modified_by"] = user;
    doc["docstatus"] = to;
    doc["modified"] = now;
    doc["modified_by"] = user;
    if (m_repo.update(session, dt, doc.at("id").get<std::string>(), row,
                      current.at("modified").get<std::string>()) == 0) {
        throw Error(
            ErrorKind::conflict,
            fmt::format("{} '{}' was changed by someone else; reload and try again", dt.name, name),
            Json{{"reason", "stale"}});
    }
    // Child rows follow their parent's docstatus.
    for (const auto& f : dt.fields) {
        if (f.type != FieldType::table) continue;
        const DocType& child = m_meta.get(f.options);
        for (auto& r : doc[f.name]) {
            m_repo.update(session, child, r.at("id").get<std::string>(),
                          Json{{"docstatus", to}, {"modified", now}, {"modified_by", user}});
            r["docstatus"] = to;
        }
    }
    record_version(session, dt, current, doc, user);
    emit(session, dt, to == 1 ? "doc.submitted" : "doc.cancelled", doc, user);
    return doc;
}

Json DocumentService::submit(Session& session, const std::string& doctype,
                             const std::string& id_or_name, const Principal& who) const {
    return transition(session, m_meta.get(doctype), id_or_name, who, 0, 1);
}

Json DocumentService::cancel(Session& session, const std::string& doctype,
                             const std::string& id_or_name, const Principal& who) const {
    return transition(session, m_meta.get(doctype), id_or_name, who, 1, 2);
}

const std::string& DocumentService::method_permission(const std::string& doctype,
                                                      const std::string& method) const {
    const DocType& dt = m_meta.get(doctype);
    const MethodEntry* entry = m_controllers ? m_controllers->method(dt.name, method) : nullptr;
    if (!entry) {
        throw Error(ErrorKind::not_found,
                    fmt::format("DocType '{}' has no callable method '{}'", dt.name, method));
    }
    return entry->permission;
}

Json DocumentService::call(Session& session, const std::string& doctype,
                           const std::string& id_or_name, const std::string& method,
                           const Json& kwargs, const Principal& who) const {
    const DocType& dt = m_meta.get(doctype);
    require(dt, who, method_permission(doctype, method));
    const MethodEntry& entry = *m_controllers->method(dt.name, method);
    if (!kwargs.is_object()) {
        throw Error(ErrorKind::validation,
                    fmt::format("{}.{}: kwargs must be a JSON object", dt.name, method));
    }
    HookContext ctx{who, session, Documents(*this, session, who), dt};
    Json doc;
    if (!id_or_name.empty()) {
        doc = load_for(session, dt, id_or_name, who);
        load_children(session, dt, doc);
        doc = in_field_order(m_meta, dt, doc);
    }
    Json result;
    std::string hook = "method " + method;
    run_hook(dt, hook.c_str(),
             [&] { result = entry.method(id_or_name.empty() ? nullptr : &doc, kwargs, ctx); });
    return result;
}

ListResult DocumentService::list(Session& session, const std::string& doctype, ListQuery query,
                                 const Principal& who, CountMode count) const {
    const DocType& dt = m_meta.get(doctype);
    require(dt, who, "read");
    if (rls_applies(dt, who)) query.filters.push_back(rls_filter(dt, who));
    if (query.limit < 1) throw Error(ErrorKind::validation, "limit must be at least 1");
    if (query.offset < 0) throw Error(ErrorKind::validation, "offset must not be negative");
    ListResult result;
    result.limit = query.limit;
    result.offset = query.offset;
    // Without an exact count, has_more comes from fetching one row more than asked for.
    auto probe_page = [&] {
        ListQuery probe = query;
        probe.limit = query.limit + 1;
        result.items = m_repo.list(session, dt, probe);
        result.has_more = static_cast<long long>(result.items.size()) > query.limit;
        if (result.has_more) result.items.pop_back();
    };
    if (count == CountMode::none) {
        probe_page();
        return result;
    }
    if (count == CountMode::estimated && query.filters.empty()) {
        // The planner's figure for large unfiltered tables (counting them costs a scan); small
        // tables, filtered lists and databases without statistics are counted exactly.
        constexpr long long k_estimate_above = 100000;
        auto estimate = m_db.dialect().estimated_rows(session, dt.table_name());
        if (estimate && *estimate >= k_estimate_above) {
            probe_page();
            result.total =
                std::max(*estimate, query.offset + static_cast<long long>(result.items.size()));
            return result;
        }
    }
    result.items = m_repo.list(session, dt, query);
    result.total = m_repo.count(session, dt, query.filters);
    result.has_more = query.offset + static_cast<long long>(result.items.size()) < *result.total;
    return result;
}

} // namespace m::core
