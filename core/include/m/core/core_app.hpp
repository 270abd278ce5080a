// The built-in app `core` (docs/reference/doctypes.md, "The built-in app `core`"): the DocTypes
// every project has -- User, Role, Has Role, ApiKey, Auth Session and Scheduled Job (cron
// schedules of jobs kept as documents). They are compiled into m and load before every other app,
// so a fresh project can `m user create` and log in with no app of its own.
#pragma once

#include "m/core/doctype.hpp"

#include <string_view>
#include <vector>

namespace m::core {

/// Name of the built-in app; no project app may use it.
inline constexpr std::string_view k_core_app = "core";

/// DocType names of the built-in app (used by the auth layer).
inline constexpr std::string_view k_user_doctype = "User";
inline constexpr std::string_view k_role_doctype = "Role";
inline constexpr std::string_view k_api_key_doctype = "ApiKey";
inline constexpr std::string_view k_session_doctype = "Auth Session";
inline constexpr std::string_view k_scheduled_job_doctype = "Scheduled Job";

/// Roles that may do everything (docs/reference/doctypes.md, "Permissions"), and the role that
/// stands for everyone.
inline constexpr std::string_view k_role_admin = "Admin";
inline constexpr std::string_view k_role_system = "System";
inline constexpr std::string_view k_role_all = "All";

/// The built-in DocTypes, parsed and checked like any doctype.json.
std::vector<DocType> core_doctypes();

} // namespace m::core
