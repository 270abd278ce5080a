#include "m/core/core_app.hpp"

#include "m/core/doctype_loader.hpp"

namespace m::core {

namespace {

// Only Admin/System may read or change these through the API (an empty permission map denies
// every other role); users read themselves through /api/v1/auth/me.
constexpr const char* k_definitions[] = {
    R"j({"name": "Role", "module": "Core", "naming_rule": "field:role_name",
        "title_field": "role_name", "sort_field": "role_name", "sort_order": "asc",
        "ui_meta": {"group": "Users", "icon": "safety"},
        "fields": [
          {"name": "role_name", "type": "data", "label": "Role", "required": true, "unique": true,
           "in_list_view": true, "max_length": 64},
          {"name": "description", "type": "text", "label": "Description"}]})j",
    R"j({"name": "Has Role", "module": "Core", "is_child_table": true,
        "fields": [
          {"name": "role", "type": "link", "options": "Role", "label": "Role", "required": true,
           "in_list_view": true}]})j",
    R"j({"name": "User", "module": "Core", "naming_rule": "field:email", "title_field": "full_name",
        "ui_meta": {"group": "Users", "icon": "user"},
        "fields": [
          {"name": "email", "type": "data", "label": "Email", "required": true, "unique": true,
           "in_list_view": true, "max_length": 254, "pattern": "^[^@\\s]+@[^@\\s]+$"},
          {"name": "full_name", "type": "data", "label": "Full name", "in_list_view": true},
          {"name": "password", "type": "password", "label": "Password"},
          {"name": "enabled", "type": "check", "label": "Enabled", "default": true,
           "in_list_view": true},
          {"name": "roles", "type": "table", "options": "Has Role", "label": "Roles"}]})j",
    R"j({"name": "ApiKey", "label": "API Key", "module": "Core", "naming_rule": "uuid",
        "ui_meta": {"group": "Users", "icon": "key"},
        "fields": [
          {"name": "for_user", "type": "link", "options": "User", "label": "User", "required": true,
           "in_list_view": true},
          {"name": "key_id", "type": "data", "label": "Key id", "required": true, "unique": true,
           "read_only": true, "in_list_view": true, "max_length": 64},
          {"name": "secret_hash", "type": "data", "label": "Secret (SHA-256)", "required": true,
           "read_only": true, "hidden": true, "max_length": 64},
          {"name": "label", "type": "data", "label": "Label"},
          {"name": "enabled", "type": "check", "label": "Enabled", "default": true,
           "in_list_view": true}]})j",
    R"j({"name": "Auth Session", "module": "Core", "naming_rule": "uuid", "show_in_desk": false,
        "api_resource": false,
        "fields": [
          {"name": "for_user", "type": "link", "options": "User", "label": "User", "required": true},
          {"name": "expires", "type": "datetime", "label": "Expires", "required": true},
          {"name": "revoked", "type": "check", "label": "Revoked", "default": false},
          {"name": "client", "type": "data", "label": "Client address"}]})j",
    R"j({"name": "Scheduled Job", "module": "Core", "naming_rule": "field:title",
        "title_field": "title", "ui_meta": {"group": "Jobs", "icon": "clock"},
        "fields": [
          {"name": "title", "type": "data", "label": "Title", "required": true,
           "in_list_view": true},
          {"name": "job", "type": "data", "label": "Job", "required": true, "in_list_view": true},
          {"name": "schedule", "type": "data", "label": "Cron schedule", "required": true,
           "in_list_view": true},
          {"name": "kwargs", "type": "json", "label": "Arguments"},
          {"name": "enabled", "type": "check", "label": "Enabled", "default": true,
           "in_list_view": true}]})j",
};

} // namespace

std::vector<DocType> core_doctypes() {
    std::vector<DocType> out;
    for (const char* text : k_definitions) {
        auto j = nlohmann::json::parse(text);
        out.push_back(parse_doctype(j, "<built-in core app>", std::string(k_core_app)));
    }
    return out;
}

} // namespace m::core
