// `m config show` and `m info`: what the settings are, where each came from, what is loaded.
#include "m/commands/command.hpp"
#include "m/core/error.hpp"

#include <fmt/format.h>

namespace m::commands {

using core::Json;

namespace {

std::string shown_value(const core::SettingSpec& spec, const std::string& value) {
    if (!spec.secret || value.empty()) return value;
    if (std::string(spec.key) == "database.url") return core::mask_url(value);
    return "********";
}

void config_show(const GlobalOptions& options) {
    core::Settings s = load_settings_for(options);
    if (options.json) {
        Json out = Json::object();
        out["config_file"] = s.config_file.string();
        out["settings"] = Json::array();
        for (const auto& spec : core::setting_specs()) {
            out["settings"].push_back(Json{{"key", spec.key},
                                           {"env", spec.env},
                                           {"value", shown_value(spec, s.value_of(spec.key))},
                                           {"source", s.sources[spec.key]}});
        }
        print_json(out);
        return;
    }
    fmt::print("# {}\n", s.config_file.string());
    for (const auto& spec : core::setting_specs()) {
        std::string value = shown_value(spec, s.value_of(spec.key));
        fmt::print("{:<20} = {:<40} # {} ({})\n", spec.key, value.empty() ? "\"\"" : value,
                   s.sources[spec.key], spec.env);
    }
}

void info(const GlobalOptions& options, Needs needs) {
    auto rt = bootstrap(options, needs);
    const auto& s = rt->settings;
    std::string db = core::mask_url(s.effective_database_url());
    if (options.json) {
        Json out = Json::object();
        out["version"] = M_VERSION;
        out["project"] = s.project_name;
        out["project_root"] = s.project_root.string();
        out["database"] = db;
        out["apps"] = rt->apps;
        out["doctypes"] = Json::array();
        for (const auto& dt : rt->meta.all()) {
            out["doctypes"].push_back(Json{{"name", dt->name},
                                           {"app", dt->app},
                                           {"table", dt->table_name()},
                                           {"fields", dt->fields.size()}});
        }
        print_json(out);
        return;
    }
    fmt::print("m {}\nproject   {} ({})\ndatabase  {}\napps      {}\n", M_VERSION, s.project_name,
               s.project_root.string(), db,
               rt->apps.empty() ? "(none)" : fmt::format("{}", fmt::join(rt->apps, ", ")));
    fmt::print("doctypes  {}\n", rt->meta.all().size());
    for (const auto& dt : rt->meta.all()) {
        fmt::print("  {:<24} {:<12} {} field(s){}{}\n", dt->name, dt->app, dt->fields.size(),
                   dt->is_child_table ? ", child table" : "",
                   dt->is_submittable ? ", submittable" : "");
    }
}

} // namespace

void add_config(CLI::App& cmd, const GlobalOptions& options, Needs) {
    cmd.require_subcommand(1);
    auto* show = cmd.add_subcommand("show", "Print effective settings (secrets masked)");
    show->callback([&options] { config_show(options); });
}

void add_info(CLI::App& cmd, const GlobalOptions& options, Needs needs) {
    cmd.callback([&options, needs] { info(options, needs); });
}

} // namespace m::commands
