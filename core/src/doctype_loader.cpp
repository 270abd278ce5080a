#include "m/core/doctype_loader.hpp"

#include "m/core/core_app.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace m::core {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::set<std::string, std::less<>> k_reserved{
    "all",          "analyse",
    "analyze",      "and",
    "any",          "array",
    "as",           "asc",
    "asymmetric",   "between",
    "both",         "by",
    "case",         "cast",
    "check",        "collate",
    "column",       "constraint",
    "create",       "current_date",
    "current_time", "current_timestamp",
    "current_user", "default",
    "deferrable",   "delete",
    "desc",         "distinct",
    "do",           "drop",
    "else",         "end",
    "except",       "exists",
    "false",        "fetch",
    "for",          "foreign",
    "from",         "grant",
    "group",        "having",
    "in",           "index",
    "initially",    "insert",
    "intersect",    "into",
    "is",           "join",
    "lateral",      "leading",
    "like",         "limit",
    "localtime",    "localtimestamp",
    "not",          "null",
    "offset",       "on",
    "only",         "or",
    "order",        "placing",
    "primary",      "references",
    "returning",    "select",
    "session_user", "set",
    "some",         "symmetric",
    "table",        "then",
    "to",           "trailing",
    "true",         "union",
    "unique",       "update",
    "user",         "using",
    "values",       "variadic",
    "when",         "where",
    "window",       "with",
};

const std::set<std::string, std::less<>> k_top_keys{
    "name",           "label",     "module",        "naming_rule",  "is_submittable",
    "is_child_table", "is_single", "track_changes", "show_in_desk", "api_resource",
    "requires_auth",  "apply_rls", "rls_field",     "title_field",  "sort_field",
    "sort_order",     "fields",    "permissions",   "indexes",      "ui_meta",
    "description",
};

const std::set<std::string, std::less<>> k_field_keys{
    "name",    "type",      "label",      "required",     "unique",          "default",
    "options", "read_only", "hidden",     "in_list_view", "allow_on_submit", "description",
    "min",     "max",       "min_length", "max_length",   "pattern",         "precision",
};

const std::set<std::string, std::less<>> k_actions{"read",   "write",  "create",
                                                   "delete", "submit", "cancel"};

class Checker {
public:
    Checker(std::string source) : m_source(std::move(source)) {}

    [[noreturn]] void fail(const std::string& what) const {
        throw Error(ErrorKind::validation, fmt::format("{}: {}", m_source, what));
    }
    [[noreturn]] void fail_field(const std::string& field, const std::string& what) const {
        fail(fmt::format("field '{}': {}", field, what));
    }

    bool get_bool(const json& obj, const char* key, bool fallback, const std::string& ctx) const {
        if (!obj.contains(key)) return fallback;
        const json& v = obj.at(key);
        if (v.is_boolean()) return v.get<bool>();
        if (v.is_number_integer() && (v.get<int>() == 0 || v.get<int>() == 1)) {
            return v.get<int>() == 1;
        }
        fail(fmt::format("{}'{}' must be true or false, got {}", ctx, key, v.dump()));
    }

    std::string get_string(const json& obj, const char* key, const std::string& fallback,
                           const std::string& ctx) const {
        if (!obj.contains(key) || obj.at(key).is_null()) return fallback;
        const json& v = obj.at(key);
        if (!v.is_string())
            fail(fmt::format("{}'{}' must be a string, got {}", ctx, key, v.dump()));
        return v.get<std::string>();
    }

    std::optional<double> get_number(const json& obj, const char* key,
                                     const std::string& ctx) const {
        if (!obj.contains(key) || obj.at(key).is_null()) return std::nullopt;
        const json& v = obj.at(key);
        if (!v.is_number())
            fail(fmt::format("{}'{}' must be a number, got {}", ctx, key, v.dump()));
        return v.get<double>();
    }

    std::optional<int> get_int(const json& obj, const char* key, int lo, int hi,
                               const std::string& ctx) const {
        if (!obj.contains(key) || obj.at(key).is_null()) return std::nullopt;
        const json& v = obj.at(key);
        if (!v.is_number_integer() || v.get<long long>() < lo || v.get<long long>() > hi) {
            fail(fmt::format("{}'{}' must be an integer from {} to {}, got {}", ctx, key, lo, hi,
                             v.dump()));
        }
        return v.get<int>();
    }

private:
    std::string m_source;
};

/// The field's name, refused when invalid, a reserved SQL word or a standard field's.
std::string field_name(const json& j, const Checker& c, std::size_t index) {
    if (!j.is_object()) c.fail(fmt::format("fields[{}] must be an object", index));
    if (!j.contains("name") || !j.at("name").is_string()) {
        c.fail(fmt::format("fields[{}] has no \"name\"", index));
    }
    std::string name = j.at("name").get<std::string>();
    if (!is_valid_field_name(name)) {
        c.fail_field(name, "invalid name: use lowercase letters, digits and '_', starting with a "
                           "letter, at most 63 characters");
    }
    if (is_reserved_sql_word(name)) {
        c.fail_field(name, "is a reserved SQL word; choose another name");
    }
    const auto& std_names = standard_field_names();
    const auto& child_names = child_standard_field_names();
    if (std::find(std_names.begin(), std_names.end(), name) != std_names.end() ||
        std::find(child_names.begin(), child_names.end(), name) != child_names.end()) {
        c.fail_field(name, "is a standard field of every document and cannot be redefined");
    }
    return name;
}

FieldType field_type(const json& j, const Checker& c, const std::string& name) {
    if (!j.contains("type") || !j.at("type").is_string()) c.fail_field(name, "missing \"type\"");
    auto type_name = j.at("type").get<std::string>();
    auto type = parse_field_type(type_name);
    if (!type) {
        c.fail_field(name, fmt::format("unknown type '{}' (known: {})", type_name,
                                       fmt::join(field_type_names(), ", ")));
    }
    return *type;
}

/// The flags, limits and texts of a field; an error names the field.
void read_field_properties(const json& j, const Checker& c, Field& f) {
    const std::string ctx;
    f.label = c.get_string(j, "label", "", ctx);
    if (f.label.empty()) {
        f.label = f.name;
        std::replace(f.label.begin(), f.label.end(), '_', ' ');
        if (!f.label.empty()) f.label[0] = static_cast<char>(std::toupper(f.label[0]));
    }
    try {
        f.required = c.get_bool(j, "required", false, ctx);
        f.unique = c.get_bool(j, "unique", false, ctx);
        f.read_only = c.get_bool(j, "read_only", false, ctx);
        f.hidden = c.get_bool(j, "hidden", false, ctx);
        f.in_list_view = c.get_bool(j, "in_list_view", false, ctx);
        f.allow_on_submit = c.get_bool(j, "allow_on_submit", false, ctx);
        f.description = c.get_string(j, "description", "", ctx);
        f.min = c.get_number(j, "min", ctx);
        f.max = c.get_number(j, "max", ctx);
        f.min_length = c.get_int(j, "min_length", 0, 1 << 20, ctx);
        f.max_length = c.get_int(j, "max_length", 1, 1 << 20, ctx);
        f.precision = c.get_int(j, "precision", 0, 9, ctx);
        f.pattern = c.get_string(j, "pattern", "", ctx);
    } catch (const Error& e) {
        // Re-scope "<file>: 'min' must be ..." to the field.
        std::string msg = e.what();
        auto pos = msg.find(": ");
        c.fail_field(f.name, pos == std::string::npos ? msg : msg.substr(pos + 2));
    }
    if (j.contains("default")) f.default_value = j.at("default");
}

/// Limits that contradict each other, a pattern that is no regular expression, a type that
/// cannot be unique.
void check_field_limits(const Checker& c, const Field& f) {
    if (f.min && f.max && *f.min > *f.max) c.fail_field(f.name, "'min' is greater than 'max'");
    if (f.min_length && f.max_length && *f.min_length > *f.max_length) {
        c.fail_field(f.name, "'min_length' is greater than 'max_length'");
    }
    if (!f.pattern.empty()) {
        try {
            std::regex re(f.pattern, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            c.fail_field(f.name,
                         fmt::format("'pattern' is not a valid regular expression: {}", e.what()));
        }
    }
    if (f.unique && (f.type == FieldType::text || f.type == FieldType::json ||
                     f.type == FieldType::password || f.type == FieldType::table)) {
        c.fail_field(f.name, fmt::format("type '{}' cannot be unique", to_string(f.type)));
    }
}

/// 'options': the choices of a select (a list, or Frappe's one per line), else a DocType name.
void read_field_options(const json& j, const Checker& c, Field& f) {
    if (!j.contains("options") || j.at("options").is_null()) return;
    const json& o = j.at("options");
    if (f.type == FieldType::select) {
        if (o.is_array()) {
            for (const auto& item : o) {
                if (!item.is_string()) c.fail_field(f.name, "select options must be strings");
                f.select_options.push_back(item.get<std::string>());
            }
        } else if (o.is_string()) {
            // Frappe style: one option per line.
            std::istringstream lines(o.get<std::string>());
            for (std::string line; std::getline(lines, line);) {
                if (!line.empty()) f.select_options.push_back(line);
            }
        } else {
            c.fail_field(f.name, "select options must be a list of strings");
        }
    } else if (o.is_string()) {
        f.options = o.get<std::string>();
    } else {
        c.fail_field(f.name, "'options' must be a string");
    }
}

/// What the type needs of 'options', and a select default among them.
void check_field_options(const Checker& c, const Field& f) {
    if (f.type == FieldType::select && f.select_options.empty()) {
        c.fail_field(f.name, "a select field needs 'options' (a list of choices)");
    }
    if ((f.type == FieldType::link || f.type == FieldType::table) && f.options.empty()) {
        c.fail_field(f.name, fmt::format("a {} field needs 'options' naming the target DocType",
                                         to_string(f.type)));
    }
    if (f.type == FieldType::select && f.default_value.is_string() &&
        std::find(f.select_options.begin(), f.select_options.end(),
                  f.default_value.get<std::string>()) == f.select_options.end()) {
        c.fail_field(f.name, fmt::format("default '{}' is not one of the options",
                                         f.default_value.get<std::string>()));
    }
}

Field parse_field(const json& j, const Checker& c, std::size_t index) {
    Field f;
    f.name = field_name(j, c, index);
    for (const auto& [key, _] : j.items()) {
        if (!k_field_keys.count(key)) c.fail_field(f.name, fmt::format("unknown key '{}'", key));
    }
    f.type = field_type(j, c, f.name);
    read_field_properties(j, c, f);
    check_field_limits(c, f);
    read_field_options(j, c, f);
    check_field_options(c, f);
    return f;
}

void check_field_ref(const DocType& dt, const Checker& c, const std::string& key,
                     const std::string& field) {
    if (field.empty()) return;
    const Field* f = dt.find(field);
    if (!f) c.fail(fmt::format("'{}' names unknown field '{}'", key, field));
    if (!f->has_column()) c.fail(fmt::format("'{}' cannot name table field '{}'", key, field));
}

} // namespace

bool is_reserved_sql_word(std::string_view word) {
    std::string lower(word);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return k_reserved.count(lower) > 0;
}

namespace {
bool is_lower(char c) {
    return c >= 'a' && c <= 'z';
}
bool is_upper(char c) {
    return c >= 'A' && c <= 'Z';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
} // namespace

// Hand-written rather than std::regex: these run for every field at every bootstrap.
bool is_valid_doctype_name(std::string_view name) {
    if (name.empty() || name.size() > 62 || !is_upper(name.front()) || name.back() == ' ') {
        return false;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        if (c == ' ') {
            if (name[i - 1] == ' ') return false;
        } else if (!is_lower(c) && !is_upper(c) && !is_digit(c)) {
            return false;
        }
    }
    return true;
}

bool is_valid_field_name(std::string_view name) {
    if (name.empty() || name.size() > 63 || !is_lower(name.front())) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return is_lower(c) || is_digit(c) || c == '_'; });
}

bool is_valid_app_name(std::string_view name) {
    return is_valid_field_name(name);
}

namespace {

/// The DocType's own keys (name, flags, sorting, ui_meta), with their defaults.
void read_doctype_properties(const json& j, const Checker& c, DocType& dt) {
    dt.name = c.get_string(j, "name", "", "");
    if (dt.name.empty()) c.fail("missing \"name\"");
    if (!is_valid_doctype_name(dt.name)) {
        c.fail(fmt::format("invalid DocType name '{}': start with a capital letter, then letters, "
                           "digits and single spaces",
                           dt.name));
    }
    if (dt.table_name().rfind("m_", 0) == 0) {
        c.fail(fmt::format("DocType name '{}' maps to table '{}'; the prefix 'm_' is reserved for "
                           "the framework's tables",
                           dt.name, dt.table_name()));
    }
    dt.label = c.get_string(j, "label", dt.name, "");
    dt.module = c.get_string(j, "module", dt.app, "");
    try {
        dt.naming = NamingRule::parse(c.get_string(j, "naming_rule", "uuid", ""));
    } catch (const Error& e) {
        c.fail(e.what());
    }
    dt.is_submittable = c.get_bool(j, "is_submittable", false, "");
    dt.is_child_table = c.get_bool(j, "is_child_table", false, "");
    dt.is_single = c.get_bool(j, "is_single", false, "");
    dt.track_changes = c.get_bool(j, "track_changes", false, "");
    dt.show_in_desk = c.get_bool(j, "show_in_desk", !dt.is_child_table, "");
    dt.api_resource = c.get_bool(j, "api_resource", !dt.is_child_table, "");
    dt.requires_auth = c.get_bool(j, "requires_auth", true, "");
    dt.apply_rls = c.get_bool(j, "apply_rls", false, "");
    dt.rls_field = c.get_string(j, "rls_field", "owner", "");
    dt.title_field = c.get_string(j, "title_field", "", "");
    dt.sort_field = c.get_string(j, "sort_field", "modified", "");
    dt.sort_order = c.get_string(j, "sort_order", "desc", "");
    if (dt.sort_order != "asc" && dt.sort_order != "desc") {
        c.fail(fmt::format("'sort_order' must be \"asc\" or \"desc\", got '{}'", dt.sort_order));
    }
    if (dt.is_submittable && dt.is_child_table) {
        c.fail("a child table cannot be submittable (its parent is)");
    }
    if (j.contains("ui_meta")) {
        if (!j.at("ui_meta").is_object()) c.fail("'ui_meta' must be an object");
        dt.ui_meta = j.at("ui_meta");
    }
}

void read_fields(const json& j, const Checker& c, DocType& dt) {
    if (!j.contains("fields")) return;
    const json& fields = j.at("fields");
    if (!fields.is_array()) c.fail("'fields' must be a list");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        Field f = parse_field(fields[i], c, i);
        if (!seen.insert(f.name).second) c.fail_field(f.name, "is defined twice");
        if (dt.is_child_table && f.type == FieldType::table) {
            c.fail_field(f.name, "a child table cannot contain another table field");
        }
        dt.fields.push_back(std::move(f));
    }
}

/// A `field:<name>` naming rule names a field that can be a name.
void check_naming_rule(const Checker& c, const DocType& dt) {
    if (dt.naming.kind == NamingRule::Kind::field) {
        const std::string naming_rule = dt.naming.text();
        const std::string& target = dt.naming.argument;
        const Field* f = dt.find(target);
        if (!f || f->standard) {
            c.fail(fmt::format("naming_rule '{}' names unknown field '{}'", naming_rule, target));
        }
        if (f->type == FieldType::table || f->type == FieldType::json ||
            f->type == FieldType::password || f->type == FieldType::text) {
            c.fail(fmt::format("naming_rule '{}': field '{}' of type '{}' cannot be a name",
                               naming_rule, target, to_string(f->type)));
        }
    }
}

/// 'permissions': action -> the roles that may do it.
void read_permissions(const json& j, const Checker& c, DocType& dt) {
    if (!j.contains("permissions") || j.at("permissions").is_null()) return;
    const json& perms = j.at("permissions");
    if (!perms.is_object()) c.fail("'permissions' must be an object of action -> roles");
    for (const auto& [action, roles] : perms.items()) {
        if (!k_actions.count(action)) {
            c.fail(fmt::format("permissions: unknown action '{}' (use read, write, create, "
                               "delete, submit, cancel)",
                               action));
        }
        if (!roles.is_array())
            c.fail(fmt::format("permissions.{} must be a list of roles", action));
        std::vector<std::string> list;
        for (const auto& r : roles) {
            if (!r.is_string() || r.get<std::string>().empty()) {
                c.fail(fmt::format("permissions.{}: roles must be non-empty strings", action));
            }
            list.push_back(r.get<std::string>());
        }
        dt.permissions[action] = std::move(list);
    }
}

/// One entry of 'indexes': a list of fields, or {"fields": [...], "unique": bool}.
IndexDef read_index(const json& item, std::size_t i, const Checker& c, const DocType& dt) {
    IndexDef def;
    const json* fields = nullptr;
    if (item.is_array()) {
        fields = &item;
    } else if (item.is_object()) {
        for (const auto& [key, _] : item.items()) {
            if (key != "fields" && key != "unique") {
                c.fail(fmt::format("indexes[{}]: unknown key '{}'", i, key));
            }
        }
        if (!item.contains("fields")) c.fail(fmt::format("indexes[{}] has no 'fields'", i));
        fields = &item.at("fields");
        def.unique = c.get_bool(item, "unique", false, fmt::format("indexes[{}]: ", i));
    } else {
        c.fail(fmt::format("indexes[{}] must be a list of fields or an object", i));
    }
    if (!fields->is_array() || fields->empty()) {
        c.fail(fmt::format("indexes[{}]: 'fields' must be a non-empty list", i));
    }
    for (const auto& fname : *fields) {
        if (!fname.is_string()) c.fail(fmt::format("indexes[{}]: field names must be strings", i));
        std::string name = fname.get<std::string>();
        const Field* f = dt.find(name);
        if (!f) c.fail(fmt::format("indexes[{}]: unknown field '{}'", i, name));
        if (!f->has_column()) {
            c.fail(fmt::format("indexes[{}]: table field '{}' cannot be indexed", i, name));
        }
        def.fields.push_back(std::move(name));
    }
    return def;
}

void read_indexes(const json& j, const Checker& c, DocType& dt) {
    if (!j.contains("indexes") || j.at("indexes").is_null()) return;
    const json& idx = j.at("indexes");
    if (!idx.is_array()) c.fail("'indexes' must be a list");
    for (std::size_t i = 0; i < idx.size(); ++i) dt.indexes.push_back(read_index(idx[i], i, c, dt));
}

} // namespace

DocType parse_doctype(const json& j, const std::string& source, const std::string& app) {
    Checker c(source);
    if (!j.is_object()) c.fail("a DocType definition must be a JSON object");
    for (const auto& [key, _] : j.items()) {
        if (!k_top_keys.count(key)) c.fail(fmt::format("unknown key '{}'", key));
    }
    DocType dt;
    dt.app = app;
    dt.source_file = source;
    read_doctype_properties(j, c, dt);
    read_fields(j, c, dt);
    dt.finalize();
    check_naming_rule(c, dt);
    check_field_ref(dt, c, "title_field", dt.title_field);
    check_field_ref(dt, c, "sort_field", dt.sort_field);
    check_field_ref(dt, c, "rls_field", dt.rls_field);
    read_permissions(j, c, dt);
    read_indexes(j, c, dt);
    return dt;
}

DocType load_doctype_file(const fs::path& file, const std::string& source, const std::string& app) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(ErrorKind::not_found, fmt::format("{}: cannot read file", source));
    std::stringstream buffer;
    buffer << in.rdbuf();
    json j;
    try {
        j = json::parse(buffer.str());
    } catch (const json::parse_error& e) {
        throw Error(ErrorKind::validation,
                    fmt::format("{}: malformed JSON at byte {}", source, e.byte));
    }
    return parse_doctype(j, source, app);
}

std::vector<std::string> discover_apps(const fs::path& project_root) {
    std::vector<std::string> apps;
    std::error_code ec;
    fs::path dir = project_root / "apps";
    if (!fs::is_directory(dir, ec)) return apps;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.is_directory() && fs::exists(entry.path() / "app.json")) {
            apps.push_back(entry.path().filename().string());
        }
    }
    std::sort(apps.begin(), apps.end());
    return apps;
}

MetaRegistry load_metadata(const fs::path& project_root, const std::vector<std::string>& apps) {
    MetaRegistry registry;
    for (auto& doctype : core_doctypes()) registry.add(std::move(doctype));
    for (const auto& app : apps) {
        if (app == k_core_app) {
            throw Error(ErrorKind::validation,
                        "app name 'core' is reserved for m's built-in app (User, Role, ApiKey)");
        }
        fs::path app_dir = project_root / "apps" / app;
        std::error_code ec;
        if (!fs::is_directory(app_dir, ec)) {
            throw Error(ErrorKind::not_found,
                        fmt::format("app '{}' is installed but apps/{} does not exist", app, app));
        }
        fs::path doctypes = app_dir / "doctypes";
        if (!fs::is_directory(doctypes, ec)) continue;
        std::vector<fs::path> dirs;
        for (const auto& entry : fs::directory_iterator(doctypes, ec)) {
            if (entry.is_directory()) dirs.push_back(entry.path());
        }
        std::sort(dirs.begin(), dirs.end());
        for (const auto& dir : dirs) {
            fs::path file = dir / "doctype.json";
            if (!fs::exists(file)) continue;
            std::string source = fs::relative(file, project_root, ec).generic_string();
            if (ec || source.empty()) source = file.generic_string();
            registry.add(load_doctype_file(file, source, app));
        }
    }
    registry.check_references();
    return registry;
}

} // namespace m::core
