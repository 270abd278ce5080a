// Controllers: user-written C++ business logic attached to a DocType (docs/reference/doctypes.md,
// "Controllers").
//
// A controller overrides the hooks it needs; the document service calls them in one fixed order
// inside the caller's transaction (save: validate → before_insert (new only) → before_save →
// write → after_insert (new only) → after_save; delete: before_delete → delete → after_delete;
// submit: validate → on_submit; cancel: on_cancel). A hook fails by throwing core::Error
// (validation, permission, ...); then nothing of the operation is written. Because the hooks are
// virtual methods of one base class, a misspelt hook name fails to compile (`override`).
#pragma once

#include "m/core/documents.hpp"
#include "m/core/permissions.hpp"
#include "m/core/values.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace m::core {

class DocumentService;
class Session;
struct DocType;

/// What a hook can use. Valid only during the hook call.
struct HookContext {
    const Principal& caller; ///< who is acting (ctx.caller.user is the user's name)
    Session& session;        ///< the unit of work's session (same transaction)
    /// Other documents in the same transaction, read and written with the caller's rights;
    /// `documents.as_system()` for the system's.
    Documents documents;
    const DocType& doctype; ///< the DocType of the document
};

/// Base class of every controller. Every hook is a no-op by default. Hooks that receive a
/// non-const document may change it (a before_save computing a total); the service checks the
/// changed values against the metadata again before writing.
class Controller {
public:
    virtual ~Controller() = default;

    virtual void validate(Json& doc, HookContext& ctx);
    virtual void before_insert(Json& doc, HookContext& ctx);
    virtual void before_save(Json& doc, HookContext& ctx);
    virtual void after_insert(const Json& doc, HookContext& ctx);
    virtual void after_save(const Json& doc, HookContext& ctx);
    virtual void before_delete(const Json& doc, HookContext& ctx);
    virtual void after_delete(const Json& doc, HookContext& ctx);
    virtual void on_submit(Json& doc, HookContext& ctx);
    virtual void on_cancel(Json& doc, HookContext& ctx);
};

/// A callable controller method (Framework M's whitelisted RPC). `doc` is the document named by
/// the call, or nullptr for a DocType-level method; the result becomes `{"result": …}`.
using ControllerMethod = std::function<Json(Json* doc, const Json& kwargs, HookContext& ctx)>;

struct MethodEntry {
    std::string permission; ///< the permission action the caller needs ("read", "write", ...)
    ControllerMethod method;
};

/// Controllers and callable methods by DocType. Filled at bootstrap (app modules), read-only
/// afterwards; thread-safe to read.
class ControllerRegistry {
public:
    /// Registers the controller of a DocType. Throws Error{validation} when one is registered
    /// already.
    void add(const std::string& doctype, std::unique_ptr<Controller> controller);

    /// Registers a callable method. Throws Error{validation} on a duplicate name.
    void add_method(const std::string& doctype, const std::string& name,
                    const std::string& permission, ControllerMethod method);

    /// The controller of a DocType, or a shared no-op controller.
    Controller& get(const std::string& doctype) const;

    /// A callable method, or nullptr.
    const MethodEntry* method(const std::string& doctype, const std::string& name) const;

    /// DocTypes with a registered controller or method (for checks against the metadata).
    std::vector<std::string> doctypes() const;

    /// Names of the callable methods of a DocType, sorted.
    std::vector<std::string> method_names(const std::string& doctype) const;

private:
    std::map<std::string, std::unique_ptr<Controller>> m_controllers;
    std::map<std::string, std::map<std::string, MethodEntry>> m_methods;
};

} // namespace m::core
