// `m new project|app|doctype`: scaffolding. Never overwrites: an existing target is an error.
#include "m/commands/command.hpp"
#include "m/core/core_app.hpp"
#include "m/core/crypto.hpp"
#include "m/core/doctype_loader.hpp"
#include "m/core/error.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

namespace m::commands {

namespace fs = std::filesystem;
using core::Error;
using core::ErrorKind;
using core::Json;

namespace {

void write_file(const fs::path& path, const std::string& content) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
        throw Error(ErrorKind::unavailable, fmt::format("cannot create folder {}: {}",
                                                        path.parent_path().string(), ec.message()));
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) throw Error(ErrorKind::unavailable, fmt::format("cannot write {}", path.string()));
}

void refuse_existing(const fs::path& path, const std::string& what) {
    std::error_code ec;
    if (fs::exists(path, ec)) {
        throw Error(
            ErrorKind::conflict,
            fmt::format("{} '{}' already exists; refusing to overwrite", what, path.string()));
    }
}

std::string random_secret() {
    return core::random_token(32);
}

void new_project(const std::string& name, const GlobalOptions& options) {
    if (!core::is_valid_app_name(name) && name.find('/') == std::string::npos) {
        // Allow any folder name, but it must be usable as a name.
        if (name.empty() || name == "." || name == "..") {
            throw Error(ErrorKind::validation, fmt::format("'{}' is not a project name", name));
        }
    }
    fs::path root = fs::absolute(name);
    refuse_existing(root, "folder");
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) {
        throw Error(ErrorKind::unavailable, fmt::format("cannot create project folder {}: {}",
                                                        root.string(), ec.message()));
    }
    write_file(
        root / core::k_config_file_name,
        fmt::format(
            R"(# Settings of the m project '{0}'. Environment variables and .env override this
# file; command-line flags override both. `m config show` prints the effective values.

[project]
name = "{0}"

[database]
# url = "postgres://user:password@127.0.0.1:5432/{0}"   # DATABASE_URL; unset = SQLite in .m/
pool_size = 8

[apps]
# installed = ["billing"]   # INSTALLED_APPS; unset = every app under apps/, by name

[log]
level = "info"
)",
            fs::path(name).filename().string()));
    write_file(root / ".env",
               fmt::format("# Secrets of this project; keep this file out of version control.\n"
                           "M_SECRET_KEY={}\n",
                           random_secret()));
    // The signing key is the owner's only (docs/ARCHITECTURE.md, threat model).
    fs::permissions(root / ".env", fs::perms::owner_read | fs::perms::owner_write,
                    fs::perm_options::replace, ec);
    write_file(root / ".gitignore", ".m/\n.env\n");
    fs::create_directories(root / "apps", ec);
    if (options.json) {
        Json j = {{"project", root.string()}};
        print_json(j);
    } else {
        fmt::print("Created project {} in {}\nNext: cd {} && m new app NAME\n", name, root.string(),
                   name);
    }
}

/// "sales_report" → {"SalesReport", "Sales Report"}: the page component's and the menu's names.
std::pair<std::string, std::string> display_names(const std::string& app) {
    std::string pascal;
    std::string label;
    bool start = true;
    for (char c : app) {
        if (c == '_') {
            start = true;
            continue;
        }
        if (start && !label.empty()) label += ' ';
        char up = start ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
        pascal += up;
        label += up;
        start = false;
    }
    return {pascal, label};
}

/// apps/<app>/frontend: a Desk plugin (docs/reference/desk.md, "Plugins") contributing a sidebar
/// entry and a page.
void write_frontend(const fs::path& dir, const std::string& app) {
    auto [pascal, label] = display_names(app);
    Json package = Json::object();
    package["name"] = "@" + app + "/desk";
    package["private"] = true;
    package["version"] = "0.1.0";
    package["type"] = "module";
    package["framework-m"] =
        Json{{"type", "frontend-module"}, {"plugin", "./src/plugin.config.ts"}};
    write_file(dir / "package.json", package.dump(2) + "\n");
    write_file(
        dir / "src" / "plugin.config.ts",
        fmt::format(
            R"(// The {0} app's Desk plugin. `m build` finds it (package.json's "framework-m" key) and
// builds it into the Desk; react, antd, @refinedev/core and @framework-m/sdk come from the Desk.
import {{ definePlugin }} from "@framework-m/sdk";
import {{ {1}Page }} from "./{1}Page";

export default definePlugin({{
  name: "@{0}/desk",
  app_id: "{0}",
  menus: [{{ key: "{0}-home", label: "{2}", path: "/{0}", icon: "appstore" }}],
  routes: [{{ path: "/{0}", component: {1}Page }}],
}});
)",
            app, pascal, label));
    write_file(dir / "src" / (pascal + "Page.tsx"),
               fmt::format(R"(import {{ Card, Typography }} from "antd";

// The page behind the sidebar entry "{2}". Edit it, then run `m build`.
export function {1}Page() {{
  return (
    <Card title="{2}" data-testid="{0}-page">
      <Typography.Paragraph>
        This page comes from apps/{0}/frontend/src/{1}Page.tsx.
      </Typography.Paragraph>
    </Card>
  );
}}
)",
                           app, pascal, label));
}

void new_app(const std::string& name, bool with_frontend, const GlobalOptions& options) {
    if (!core::is_valid_app_name(name)) {
        throw Error(ErrorKind::validation,
                    fmt::format("'{}' is not a valid app name: use lowercase letters, digits and "
                                "'_', starting with a letter",
                                name));
    }
    if (name == core::k_core_app) {
        throw Error(ErrorKind::validation,
                    "app name 'core' is reserved for m's built-in app (User, Role, ApiKey)");
    }
    core::Settings settings = load_settings_for(options);
    fs::path dir = settings.project_root / "apps" / name;
    refuse_existing(dir, "app folder");
    Json manifest = Json::object();
    manifest["name"] = name;
    manifest["title"] = name;
    manifest["version"] = "0.1.0";
    write_file(dir / "app.json", manifest.dump(2) + "\n");
    std::error_code ec;
    fs::create_directories(dir / "doctypes", ec);
    fs::create_directories(dir / "migrations", ec);
    if (with_frontend) write_frontend(dir / "frontend", name);
    if (options.json) {
        print_json(Json{{"app", name}, {"path", dir.string()}, {"frontend", with_frontend}});
        return;
    }
    fmt::print("Created app {} in {}\n", name, dir.string());
    if (with_frontend) {
        fmt::print("Its Desk plugin is in {}; `m build` builds it into the Desk.\n",
                   (dir / "frontend").string());
    }
    if (settings.apps_explicit) {
        fmt::print("Add \"{}\" to [apps] installed in {} to load it.\n", name,
                   settings.config_file.filename().string());
    }
}

struct DoctypeOptions {
    std::string name;
    std::string app;
    std::vector<std::string> fields;
    bool submittable = false;
    bool child_table = false;
    bool no_controller = false;
    std::string naming;
};

/// The select options of a --field spec: separated by '|', empty ones dropped.
Json select_options(const std::string& opts) {
    Json list = Json::array();
    std::size_t start = 0;
    while (start <= opts.size()) {
        auto bar = opts.find('|', start);
        std::string item = opts.substr(start, bar == std::string::npos ? bar : bar - start);
        if (!item.empty()) list.push_back(item);
        if (bar == std::string::npos) break;
        start = bar + 1;
    }
    return list;
}

/// One --field spec, name:type[:options], as a doctype.json field; the first three fields that
/// fit in a list column are shown in the list view (`listed` counts them).
Json field_of_spec(const std::string& spec, int& listed) {
    auto c1 = spec.find(':');
    if (c1 == std::string::npos) {
        throw Error(ErrorKind::validation,
                    fmt::format("--field '{}': expected name:type[:options]", spec));
    }
    Json f = Json::object();
    f["name"] = spec.substr(0, c1);
    auto c2 = spec.find(':', c1 + 1);
    f["type"] = spec.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
    if (c2 != std::string::npos) {
        std::string opts = spec.substr(c2 + 1);
        if (f["type"] == "select") {
            f["options"] = select_options(opts);
        } else {
            f["options"] = opts;
        }
    }
    if (f["type"] != "table" && f["type"] != "json" && f["type"] != "text" &&
        f["type"] != "password" && listed < 3) {
        f["in_list_view"] = true;
        ++listed;
    }
    return f;
}

/// The doctype.json of `m new doctype`: its flags, the --field specs and System's permissions.
Json doctype_json(const DoctypeOptions& o) {
    Json dt = Json::object();
    dt["name"] = o.name;
    dt["module"] = o.app;
    if (!o.naming.empty()) dt["naming_rule"] = o.naming;
    if (o.submittable) dt["is_submittable"] = true;
    if (o.child_table) dt["is_child_table"] = true;
    dt["fields"] = Json::array();
    int listed = 0;
    for (const auto& spec : o.fields) dt["fields"].push_back(field_of_spec(spec, listed));
    dt["permissions"] = {{"read", {"System"}},
                         {"write", {"System"}},
                         {"create", {"System"}},
                         {"delete", {"System"}}};
    if (o.submittable) {
        dt["permissions"]["submit"] = {"System"};
        dt["permissions"]["cancel"] = {"System"};
    }
    return dt;
}

/// A controller skeleton that builds as is (`m build`); its hooks are no-ops until edited.
void write_controller_skeleton(const fs::path& dir, const std::string& doctype) {
    std::string id = core::snake_case(doctype);
    std::string cls;
    for (char c : doctype) {
        if (c != ' ') cls += c;
    }
    write_file(
        dir / "controller.cpp",
        fmt::format(
            R"(// Business logic of the DocType {0}. `m build` compiles it; `m` calls the hooks in this
// order on a save: validate, before_insert (new only), before_save, (write), after_insert (new
// only), after_save. Throw m::Error(m::ErrorKind::validation, "...") to refuse; then nothing
// is written. Delete the hooks you do not need.
#include <m/app.hpp>

namespace {{

class {1} : public m::Controller {{
public:
    void validate(m::Json& doc, m::HookContext& ctx) override {{
        (void)doc;
        (void)ctx;
    }}

    void before_save(m::Json& doc, m::HookContext& ctx) override {{
        (void)doc;
        (void)ctx;
    }}
}};

}} // namespace

M_CONTROLLER({2}, "{0}", {1})
)",
            doctype, cls, id));
}

void new_doctype(const DoctypeOptions& o, const GlobalOptions& options) {
    if (!core::is_valid_doctype_name(o.name)) {
        throw Error(ErrorKind::validation,
                    fmt::format("'{}' is not a valid DocType name: start with a capital letter, "
                                "then letters, digits and single spaces",
                                o.name));
    }
    core::Settings settings = load_settings_for(options);
    fs::path app_dir = settings.project_root / "apps" / o.app;
    if (!fs::exists(app_dir / "app.json")) {
        throw Error(
            ErrorKind::not_found,
            fmt::format("app '{}' does not exist (create it with `m new app {}`)", o.app, o.app));
    }
    fs::path file = app_dir / "doctypes" / core::snake_case(o.name) / "doctype.json";
    refuse_existing(file.parent_path(), "DocType folder");

    const Json dt = doctype_json(o);
    std::string source = fs::relative(file, settings.project_root).generic_string();
    // Check it as bootstrap would, together with the other DocTypes, before writing anything.
    core::DocType parsed = core::parse_doctype(nlohmann::json::parse(dt.dump()), source, o.app);
    auto apps = settings.apps_explicit ? settings.installed_apps
                                       : core::discover_apps(settings.project_root);
    core::MetaRegistry registry = core::load_metadata(settings.project_root, apps);
    registry.add(parsed);
    registry.check_references();

    write_file(file, dt.dump(2) + "\n");
    if (!o.child_table && !o.no_controller) write_controller_skeleton(file.parent_path(), o.name);
    if (options.json) {
        print_json(Json{{"doctype", o.name}, {"path", file.string()}});
    } else {
        fmt::print("Created DocType {} in {}\nNext: m migrate\n", o.name, source);
    }
}

} // namespace

void add_new(CLI::App& cmd, const GlobalOptions& options, Needs) {
    cmd.require_subcommand(1);
    auto* project = cmd.add_subcommand("project", "Create a project folder NAME");
    auto project_name = std::make_shared<std::string>();
    project->add_option("NAME", *project_name, "Folder to create")->required();
    project->callback([&options, project_name] { new_project(*project_name, options); });

    auto* app = cmd.add_subcommand("app", "Create an app under apps/");
    auto app_name = std::make_shared<std::string>();
    app->add_option("NAME", *app_name, "App name (lowercase, e.g. billing)")->required();
    auto with_frontend = std::make_shared<bool>(false);
    app->add_flag("--with-frontend", *with_frontend,
                  "Also scaffold a Desk plugin (frontend/) with a sidebar entry and a page");
    app->callback(
        [&options, app_name, with_frontend] { new_app(*app_name, *with_frontend, options); });

    auto* doctype = cmd.add_subcommand("doctype", "Create a DocType in an app");
    auto o = std::make_shared<DoctypeOptions>();
    doctype->add_option("NAME", o->name, "DocType name, e.g. \"Sales Invoice\"")->required();
    doctype->add_option("--app", o->app, "App that owns it")->required();
    doctype->add_option("--field", o->fields,
                        "name:type[:options], repeatable; select options as a|b|c");
    doctype->add_flag("--submittable", o->submittable, "Documents are submitted and cancelled");
    doctype->add_flag("--child-table", o->child_table, "Rows of another DocType's table field");
    doctype->add_flag("--no-controller", o->no_controller,
                      "Write no controller.cpp skeleton (a JSON-only app needs no compiler)");
    doctype->add_option("--naming", o->naming,
                        "uuid | autoincrement | prompt | field:<f> | series:PREFIX-.#####");
    doctype->callback([&options, o] { new_doctype(*o, options); });
}

} // namespace m::commands
