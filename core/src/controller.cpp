#include "m/core/controller.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>

#include <set>

namespace m::core {

void Controller::validate(Json&, HookContext&) {}
void Controller::before_insert(Json&, HookContext&) {}
void Controller::before_save(Json&, HookContext&) {}
void Controller::after_insert(const Json&, HookContext&) {}
void Controller::after_save(const Json&, HookContext&) {}
void Controller::before_delete(const Json&, HookContext&) {}
void Controller::after_delete(const Json&, HookContext&) {}
void Controller::on_submit(Json&, HookContext&) {}
void Controller::on_cancel(Json&, HookContext&) {}

void ControllerRegistry::add(const std::string& doctype, std::unique_ptr<Controller> controller) {
    if (!controller) throw Error(ErrorKind::internal, "null controller for " + doctype);
    if (!m_controllers.emplace(doctype, std::move(controller)).second) {
        throw Error(ErrorKind::validation,
                    fmt::format("a controller for DocType '{}' is registered twice", doctype));
    }
}

void ControllerRegistry::add_method(const std::string& doctype, const std::string& name,
                                    const std::string& permission, ControllerMethod method) {
    static const std::set<std::string> actions{"read",   "write",  "create",
                                               "delete", "submit", "cancel"};
    if (!actions.count(permission)) {
        throw Error(ErrorKind::validation,
                    fmt::format("method '{}' of DocType '{}': unknown permission '{}'", name,
                                doctype, permission));
    }
    if (!m_methods[doctype].emplace(name, MethodEntry{permission, std::move(method)}).second) {
        throw Error(ErrorKind::validation,
                    fmt::format("method '{}' of DocType '{}' is registered twice", name, doctype));
    }
}

Controller& ControllerRegistry::get(const std::string& doctype) const {
    static Controller no_op;
    auto it = m_controllers.find(doctype);
    return it == m_controllers.end() ? no_op : *it->second;
}

const MethodEntry* ControllerRegistry::method(const std::string& doctype,
                                              const std::string& name) const {
    auto dt = m_methods.find(doctype);
    if (dt == m_methods.end()) return nullptr;
    auto it = dt->second.find(name);
    return it == dt->second.end() ? nullptr : &it->second;
}

std::vector<std::string> ControllerRegistry::doctypes() const {
    std::set<std::string> names;
    for (const auto& [name, _] : m_controllers) names.insert(name);
    for (const auto& [name, _] : m_methods) names.insert(name);
    return {names.begin(), names.end()};
}

std::vector<std::string> ControllerRegistry::method_names(const std::string& doctype) const {
    std::vector<std::string> out;
    auto it = m_methods.find(doctype);
    if (it == m_methods.end()) return out;
    for (const auto& [name, _] : it->second) out.push_back(name);
    return out;
}

} // namespace m::core
