// The metadata routes of `m serve`: the DocTypes a caller may read, and one DocType's fields,
// layout, child tables, methods and the caller's permissions — what the Desk renders from.
#include "routes.hpp"

#include "m/core/values.hpp"

#include <fmt/format.h>

namespace m::server {

namespace {

Json field_json(const core::Field& f) {
    Json j = Json::object();
    j["name"] = f.name;
    j["type"] = std::string(core::to_string(f.type));
    j["label"] = f.label;
    j["required"] = f.required;
    j["unique"] = f.unique;
    j["read_only"] = f.read_only || f.standard;
    j["hidden"] = f.hidden;
    j["in_list_view"] = f.in_list_view;
    j["allow_on_submit"] = f.allow_on_submit;
    if (!f.default_value.is_null()) j["default"] = core::to_ordered(f.default_value);
    if (!f.options.empty()) j["options"] = f.options;
    if (!f.select_options.empty()) j["options"] = f.select_options;
    if (!f.description.empty()) j["description"] = f.description;
    if (f.min) j["min"] = *f.min;
    if (f.max) j["max"] = *f.max;
    if (f.min_length) j["min_length"] = *f.min_length;
    if (f.max_length) j["max_length"] = *f.max_length;
    if (!f.pattern.empty()) j["pattern"] = f.pattern;
    if (f.precision) j["precision"] = *f.precision;
    return j;
}

Json doctype_summary(const core::DocType& dt, const Principal& who) {
    Json j = Json::object();
    j["name"] = dt.name;
    j["label"] = dt.label.empty() ? dt.name : dt.label;
    j["module"] = dt.module;
    j["app"] = dt.app;
    j["is_submittable"] = dt.is_submittable;
    j["is_child_table"] = dt.is_child_table;
    j["is_single"] = dt.is_single;
    j["show_in_desk"] = dt.show_in_desk;
    j["api_resource"] = dt.api_resource;
    j["track_changes"] = dt.track_changes;
    j["ui_meta"] = core::to_ordered(dt.ui_meta);
    j["permissions"] = core::permissions_of(dt, who);
    return j;
}

/// Whether a DocType's flag passes the query parameter of the same name (absent: it does).
bool flag_matches(const httplib::Request& req, const char* key, bool value) {
    if (!req.has_param(key)) return true;
    std::string v = req.get_param_value(key);
    if (v != "0" && v != "1" && v != "true" && v != "false") {
        throw Error(ErrorKind::validation,
                    fmt::format("query parameter '{}' must be 0/1/true/false", key));
    }
    return (v == "1" || v == "true") == value;
}

} // namespace

void meta_list(Api& api, const httplib::Request& req, httplib::Response& res) {
    Principal who = api.authenticate(req);
    Json items = Json::array();
    for (const auto& dt : api.meta.all()) {
        if (!core::allowed(*dt, who, "read")) continue;
        if (!flag_matches(req, "show_in_desk", dt->show_in_desk) ||
            !flag_matches(req, "is_submittable", dt->is_submittable) ||
            !flag_matches(req, "is_child_table", dt->is_child_table) ||
            !flag_matches(req, "api_resource", dt->api_resource)) {
            continue;
        }
        items.push_back(doctype_summary(*dt, who));
    }
    if (who.is_guest() && items.empty()) {
        throw Error(ErrorKind::unauthenticated, "authentication required");
    }
    send_json(res, 200, Json{{"items", items}});
}

void meta_one(Api& api, const httplib::Request& req, httplib::Response& res) {
    Principal who = api.authenticate(req);
    const std::string segment = req.matches[1].str();
    const core::DocType* dt = api.meta.find(segment);
    if (!dt) {
        auto it = api.by_alias.find(segment);
        dt = it == api.by_alias.end() ? nullptr : it->second;
    }
    if (!dt) throw Error(ErrorKind::not_found, fmt::format("unknown DocType '{}'", segment));
    core::require(*dt, who, "read");
    Json j = doctype_summary(*dt, who);
    j["naming_rule"] = dt->naming.text();
    j["title_field"] = dt->title_field;
    j["sort_field"] = dt->sort_field;
    j["sort_order"] = dt->sort_order;
    j["apply_rls"] = dt->apply_rls;
    Json fields = Json::array();
    for (const auto& f : dt->fields) fields.push_back(field_json(f));
    j["fields"] = fields;
    Json standard = Json::array();
    for (const auto& f : dt->columns()) {
        if (f.standard) standard.push_back(field_json(f));
    }
    j["standard_fields"] = standard;
    // Child DocTypes of table fields, so a form can render its grids from one request.
    Json children = Json::object();
    for (const auto& f : dt->fields) {
        if (f.type != core::FieldType::table) continue;
        const core::DocType& child = api.meta.get(f.options);
        Json cf = Json::array();
        for (const auto& c : child.fields) cf.push_back(field_json(c));
        children[child.name] = Json{{"fields", cf}};
    }
    j["child_doctypes"] = children;
    j["methods"] = api.controllers.method_names(dt->name);
    send_json(res, 200, j);
}

} // namespace m::server
