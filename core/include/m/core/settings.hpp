// Settings: where the project is and how to reach its services (docs/reference/settings.md).
//
// Sources, weakest first: built-in defaults, `framework_config.toml` (found upward from the working
// directory), the project's `.env`, the process environment, command-line flags. Each value
// remembers where it came from (`m config show`). Unknown keys and bad values are refused with the
// file (or variable), the key and the reason.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace m::core {

/// Name of the project file.
inline constexpr const char* k_config_file_name = "framework_config.toml";

/// One known setting: its key in the TOML file, its environment variable and its help text.
struct SettingSpec {
    const char* key; ///< "database.url"
    const char* env; ///< "DATABASE_URL"
    const char* help;
    bool secret; ///< masked in `m config show`
};

/// Every setting m knows, in display order.
const std::vector<SettingSpec>& setting_specs();

/// Values given on the command line; they beat everything else.
struct SettingsFlags {
    std::optional<std::filesystem::path> project_dir; ///< --project / M_PROJECT
    std::optional<std::filesystem::path> config_file; ///< --config
    std::optional<std::string> log_level;             ///< from -v / -q
};

/// Reads an environment variable; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

struct Settings {
    std::filesystem::path project_root; ///< folder holding framework_config.toml
    std::filesystem::path config_file;
    std::string project_name;
    std::string database_url; ///< empty = embedded SQLite in <project>/.m/
    int db_pool_size = 8;
    std::vector<std::string> installed_apps;
    bool apps_explicit = false; ///< false = every app under apps/
    std::string secret_key;
    std::string log_level = "info";
    std::string environment = "development"; ///< M_ENV: development or production
    std::string server_host = "127.0.0.1";
    int server_port = 8000;
    int server_threads = 8;
    long long server_max_body = 10LL << 20;
    std::vector<std::string> cors_origins;
    std::string desk_dir;
    long long header_timeout = 10;   ///< seconds for a request's headers to arrive
    long long min_body_rate = 16384; ///< bytes/s a request body must average
    long long max_streams_per_user = 10;
    std::string metrics_token;                ///< empty = /metrics is open
    std::vector<std::string> trusted_proxies; ///< addresses whose X-Forwarded-* are believed
    bool secure_cookies = false;              ///< cookies get `Secure` (the site is on TLS)
    long long access_ttl = 900;               ///< 15 minutes
    long long refresh_ttl = 14LL * 86400;     ///< 14 days
    std::string nats_url;                     ///< empty = jobs and events in the database
    long long job_lease = 30;                 ///< seconds
    std::string redis_url;                    ///< empty = status in the database, cache in-process
    /// key -> where its value came from: "default", the file name, ".env", "env", "flag".
    std::map<std::string, std::string> sources;

    /// M_ENV=production: `m serve` and `m worker` compile no app code and refuse a project folder
    /// that others may write to.
    bool production() const { return environment == "production"; }

    /// The effective database URL: database_url, or sqlite:///<root>/.m/m.sqlite3.
    std::string effective_database_url() const;

    /// Current value of a setting as text (lists comma-joined), for `m config show`.
    std::string value_of(const std::string& key) const;
};

/// Finds the folder holding framework_config.toml, from `start` upward; nullopt if none.
std::optional<std::filesystem::path> find_project_root(const std::filesystem::path& start);

/// Loads settings for the project found from the flags, M_PROJECT or the working directory.
/// Throws Error{not_found} when there is no project and Error{validation} on a bad file/value.
Settings load_settings(const SettingsFlags& flags, const EnvLookup& env = process_env());

/// Masks the password of a URL: postgres://u:***@h/db.
std::string mask_url(const std::string& url);

} // namespace m::core
