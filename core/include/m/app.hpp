// The SDK of app modules: what an app's C++ (controllers, later jobs) includes.
//
// `m build` compiles apps/<app>/**/*.cpp against these headers into one shared library per app
// and generates its single exported registration function, which calls the `register_<name>`
// function of every controller file. Bootstrap loads the libraries in INSTALLED_APPS order,
// checks they were built for this version of m, and lets each register its controllers.
//
//     // apps/billing/doctypes/invoice/controller.cpp
//     #include <m/app.hpp>
//     namespace {
//     class Invoice : public m::Controller {
//         void before_save(m::Json& doc, m::HookContext&) override { ... }
//     };
//     }
//     M_CONTROLLER(invoice, "Invoice", Invoice)
#pragma once

#include "m/core/controller.hpp"
#include "m/core/document_service.hpp"
#include "m/core/error.hpp"
#include "m/core/jobs.hpp"
#include "m/core/values.hpp"

#include <memory>
#include <string>

namespace m {

using core::Controller;
using core::Documents;
using core::Error;
using core::ErrorKind;
using core::field_error;
using core::HookContext;
using core::JobContext;
using core::JobDef;
using core::Json;
using core::Principal;

/// What an app's registration receives. Valid only during registration.
struct AppRegistrar {
    std::string app;
    core::ControllerRegistry& controllers;
    core::JobRegistry& jobs;

    /// Registers the controller of a DocType of this project.
    template <class T> void controller(const std::string& doctype) {
        controllers.add(doctype, std::make_unique<T>());
    }

    /// Registers a callable method (`m doc call`, later POST /api/v1/rpc/...).
    void method(const std::string& doctype, const std::string& name, const std::string& permission,
                core::ControllerMethod fn) {
        controllers.add_method(doctype, name, permission, std::move(fn));
    }

    /// Registers a background job (`m worker` runs it; docs/reference/jobs-events.md, "Jobs").
    void job(core::JobDef def) { jobs.add(std::move(def)); }
};

/// Version string an app module must have been built with (checked at load).
inline constexpr const char* k_app_abi = "m-" M_VERSION "-gcc" __VERSION__;

} // namespace m

/// Defines `void m_register_<id>(m::AppRegistrar&)` registering `Class` for DocType `doctype`;
/// `m build` calls it from the app's registration function. `id` is the DocType folder name.
#define M_CONTROLLER(id, doctype, Class)                                                           \
    void m_register_##id(m::AppRegistrar& registrar) {                                             \
        registrar.controller<Class>(doctype);                                                      \
    }

/// Defines `void m_register_job_<id>(m::AppRegistrar&)` registering the job `def` (an
/// m::JobDef); `m build` calls it for apps/<app>/jobs/<id>.cpp.
///
///     // apps/billing/jobs/send_invoice.cpp
///     M_JOB(send_invoice, (m::JobDef{"billing.send_invoice", 5, 60, "default", "", "Email it",
///                                    [](const m::Json& kwargs, m::JobContext& ctx) { ... }}))
#define M_JOB(id, def)                                                                             \
    void m_register_job_##id(m::AppRegistrar& registrar) {                                         \
        registrar.job(def);                                                                        \
    }

/// For a jobs file that registers several jobs: `M_JOBS(id) { registrar.job(...); ... }`.
#define M_JOBS(id) void m_register_job_##id(m::AppRegistrar& registrar)
