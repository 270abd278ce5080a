#include "m/core/settings.hpp"

#include "m/core/doctype_loader.hpp"
#include "m/core/error.hpp"
#include "m/core/values.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>

namespace m::core {

namespace fs = std::filesystem;

namespace {

const std::set<std::string> k_log_levels{"trace", "debug", "info", "warn", "error", "off"};

std::string trim(std::string s) {
    auto not_space = [](unsigned char c) { return !std::isspace(c); };
    s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
    s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
    return s;
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::string item;
    for (char c : text + ",") {
        if (c == ',') {
            item = trim(item);
            if (!item.empty()) out.push_back(item);
            item.clear();
        } else {
            item += c;
        }
    }
    return out;
}

/// `value` as an integer in [lo, hi], or bad() with the reason.
long long integer_in(const std::string& value, long long lo, long long hi,
                     const std::function<void(const std::string&)>& bad) {
    const auto parsed = parse_integer(value);
    if (!parsed) bad(fmt::format("expected an integer from {} to {}, got '{}'", lo, hi, value));
    const long long n = *parsed;
    if (n < lo || n > hi) bad(fmt::format("expected an integer from {} to {}, got {}", lo, hi, n));
    return n;
}

/// Applies one textual value to a setting; `origin` names the source for messages and
/// `m config show`. Throws Error{validation} naming origin, key and reason.
void apply(Settings& s, const std::string& key, const std::string& value, const std::string& origin,
           const std::string& origin_label) {
    auto bad = [&](const std::string& reason) {
        throw Error(ErrorKind::validation, fmt::format("{}: {}", origin_label, reason));
    };
    if (key == "project.name") {
        s.project_name = value;
    } else if (key == "project.env") {
        if (value != "development" && value != "production") {
            bad(fmt::format("'{}' is not development or production", value));
        }
        s.environment = value;
    } else if (key == "database.url") {
        if (!value.empty() && value.rfind("sqlite://", 0) != 0 &&
            value.rfind("postgres://", 0) != 0 && value.rfind("postgresql://", 0) != 0) {
            bad(fmt::format("'{}' is not a database URL (use postgres://... or sqlite:///path)",
                            mask_url(value)));
        }
        s.database_url = value;
    } else if (key == "database.pool_size") {
        s.db_pool_size = static_cast<int>(integer_in(value, 1, 256, bad));
    } else if (key == "server.host") {
        if (value.empty()) bad("expected a host name or address, got ''");
        s.server_host = value;
    } else if (key == "server.port") {
        s.server_port = static_cast<int>(integer_in(value, 0, 65535, bad));
    } else if (key == "server.threads") {
        s.server_threads = static_cast<int>(integer_in(value, 1, 256, bad));
    } else if (key == "server.max_body") {
        s.server_max_body = integer_in(value, 1024, 1LL << 30, bad);
    } else if (key == "server.cors_origins") {
        s.cors_origins = split_list(value);
    } else if (key == "server.desk_dir") {
        s.desk_dir = value;
    } else if (key == "server.header_timeout") {
        s.header_timeout = integer_in(value, 1, 3600, bad);
    } else if (key == "server.min_body_rate") {
        s.min_body_rate = integer_in(value, 0, 1LL << 30, bad);
    } else if (key == "server.max_streams_per_user") {
        s.max_streams_per_user = integer_in(value, 1, 100000, bad);
    } else if (key == "server.metrics_token") {
        s.metrics_token = value;
    } else if (key == "server.trusted_proxies") {
        s.trusted_proxies = split_list(value);
    } else if (key == "server.secure_cookies") {
        if (value != "true" && value != "false" && value != "1" && value != "0") {
            bad(fmt::format("expected true or false, got '{}'", value));
        }
        s.secure_cookies = value == "true" || value == "1";
    } else if (key == "security.access_ttl") {
        s.access_ttl = integer_in(value, 1, 86400, bad);
    } else if (key == "security.refresh_ttl") {
        s.refresh_ttl = integer_in(value, 1, 365LL * 86400, bad);
    } else if (key == "jobs.nats_url") {
        if (!value.empty() && value.rfind("nats://", 0) != 0) bad("use nats://host:port");
        s.nats_url = value;
    } else if (key == "jobs.lease") {
        s.job_lease = integer_in(value, 1, 3600, bad);
    } else if (key == "cache.redis_url") {
        if (!value.empty() && value.rfind("redis://", 0) != 0) bad("use redis://host:port[/db]");
        s.redis_url = value;
    } else if (key == "apps.installed") {
        s.installed_apps = split_list(value);
        for (const auto& app : s.installed_apps) {
            if (!is_valid_app_name(app)) bad(fmt::format("'{}' is not a valid app name", app));
        }
        s.apps_explicit = true;
    } else if (key == "security.secret_key") {
        s.secret_key = value;
    } else if (key == "log.level") {
        if (!k_log_levels.count(value)) {
            bad(fmt::format("'{}' is not a log level (trace, debug, info, warn, error, off)",
                            value));
        }
        s.log_level = value;
    }
    s.sources[key] = origin;
}

const SettingSpec* spec_for_key(const std::string& key) {
    for (const auto& spec : setting_specs()) {
        if (key == spec.key) return &spec;
    }
    return nullptr;
}

std::string toml_value_text(const toml::node& node, const std::string& file,
                            const std::string& key) {
    if (auto v = node.value<std::string>(); v && node.is_string()) return *v;
    if (node.is_integer()) return std::to_string(node.value<long long>().value_or(0));
    if (node.is_boolean()) return node.value<bool>().value_or(false) ? "true" : "false";
    if (const auto* arr = node.as_array()) {
        std::vector<std::string> items;
        for (const auto& item : *arr) {
            if (!item.is_string()) {
                throw Error(ErrorKind::validation,
                            fmt::format("{}: key '{}': list items must be strings", file, key));
            }
            items.push_back(*item.value<std::string>());
        }
        return fmt::format("{}", fmt::join(items, ","));
    }
    throw Error(ErrorKind::validation,
                fmt::format("{}: key '{}': unsupported value type", file, key));
}

void load_toml(Settings& s, const fs::path& file) {
    std::string label = file.filename().string();
    toml::table table;
    try {
        table = toml::parse_file(file.string());
    } catch (const toml::parse_error& e) {
        throw Error(ErrorKind::validation,
                    fmt::format("{}: line {}: {}", label, e.source().begin.line, e.description()));
    }
    for (const auto& [section, node] : table) {
        const auto* sub = node.as_table();
        if (!sub) {
            throw Error(ErrorKind::validation,
                        fmt::format("{}: unknown key '{}' (settings live in sections such as "
                                    "[database])",
                                    label, std::string(section.str())));
        }
        for (const auto& [name, value] : *sub) {
            std::string key = fmt::format("{}.{}", section.str(), name.str());
            if (!spec_for_key(key)) {
                throw Error(ErrorKind::validation, fmt::format("{}: unknown key '{}'", label, key));
            }
            std::string text = toml_value_text(value, label, key);
            apply(s, key, text, label, fmt::format("{}: key '{}'", label, key));
        }
    }
}

/// Parses KEY=VALUE lines; quotes around the value are removed; '#' starts a comment line.
std::map<std::string, std::string> read_dotenv(const fs::path& file) {
    std::map<std::string, std::string> out;
    std::ifstream in(file);
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
        ++lineno;
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        if (line.rfind("export ", 0) == 0) line = trim(line.substr(7));
        auto eq = line.find('=');
        if (eq == std::string::npos) {
            throw Error(ErrorKind::validation,
                        fmt::format(".env: line {}: expected KEY=VALUE", lineno));
        }
        std::string key = trim(line.substr(0, eq));
        std::string value = trim(line.substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        out[key] = value;
    }
    return out;
}

} // namespace

const std::vector<SettingSpec>& setting_specs() {
    static const std::vector<SettingSpec> specs{
        {"project.name", "M_PROJECT_NAME", "name of the project", false},
        {"project.env", "M_ENV",
         "development or production (production: m serve and m worker compile no app code and "
         "refuse a project folder others may write to)",
         false},
        {"database.url", "DATABASE_URL",
         "postgres://... or sqlite:///path; unset = SQLite in the project's .m/", true},
        {"database.pool_size", "M_DB_POOL_SIZE", "connections per process (1-256)", false},
        {"apps.installed", "INSTALLED_APPS",
         "apps to load, in order; unset = every app under apps/", false},
        {"security.secret_key", "M_SECRET_KEY", "key that signs tokens", true},
        {"log.level", "M_LOG_LEVEL", "trace, debug, info, warn, error or off", false},
        {"server.host", "M_HOST", "address m serve listens on", false},
        {"server.port", "M_PORT", "port m serve listens on (0 = any free port)", false},
        {"server.threads", "M_THREADS", "request worker threads of m serve (1-256)", false},
        {"server.max_body", "M_MAX_BODY", "largest request body in bytes (bigger: 413)", false},
        {"server.cors_origins", "M_CORS_ORIGINS",
         "origins allowed to call the API from a browser; unset = same origin only", false},
        {"server.desk_dir", "M_DESK_DIR", "built Desk to serve under /desk/; unset = found", false},
        {"server.header_timeout", "M_HEADER_TIMEOUT",
         "seconds a request's headers may take to arrive (slower: 408)", false},
        {"server.min_body_rate", "M_MIN_BODY_RATE",
         "bytes per second a request body must average after 5 s (slower: 408; 0 = off)", false},
        {"server.max_streams_per_user", "M_MAX_STREAMS_PER_USER",
         "open live streams per user (more: 429)", false},
        {"server.metrics_token", "M_METRICS_TOKEN",
         "bearer token /metrics requires; unset = /metrics is open", true},
        {"server.trusted_proxies", "M_TRUSTED_PROXIES",
         "proxy addresses whose X-Forwarded-For/-Proto are believed; unset = none", false},
        {"server.secure_cookies", "M_SECURE_COOKIES",
         "true when the site is served over TLS: cookies get Secure", false},
        {"security.access_ttl", "M_ACCESS_TTL", "lifetime of access tokens in seconds", false},
        {"security.refresh_ttl", "M_REFRESH_TTL", "lifetime of refresh tokens in seconds", false},
        {"jobs.nats_url", "NATS_URL", "NATS JetStream for jobs and events; unset = the database",
         true},
        {"jobs.lease", "M_JOB_LEASE",
         "seconds a fetched job stays leased without a heartbeat (a dead worker's job returns)",
         false},
        {"cache.redis_url", "REDIS_URL",
         "Redis for job status, sessions, rate limits and cache; unset = database/in-process",
         true},
    };
    return specs;
}

EnvLookup process_env() {
    return [](const std::string& name) -> std::optional<std::string> {
        if (const char* v = std::getenv(name.c_str())) return std::string(v);
        return std::nullopt;
    };
}

std::string mask_url(const std::string& url_text) {
    // Masks user:password@ in the authority and a password= query parameter (libpq accepts both).
    const std::string_view url = url_text;
    const std::size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return std::string(url);
    const std::size_t authority = scheme_end + 3;
    const std::size_t authority_end = std::min(url.find_first_of("/?#", authority), url.size());

    std::string out(url.substr(0, authority));
    const std::string_view host_part = url.substr(authority, authority_end - authority);
    const std::size_t at = host_part.rfind('@');
    if (at != std::string_view::npos) {
        const std::string_view userinfo = host_part.substr(0, at);
        const std::size_t colon = userinfo.find(':');
        out += colon == std::string_view::npos ? std::string(userinfo)
                                               : std::string(userinfo.substr(0, colon)) + ":***";
        out += host_part.substr(at);
    } else {
        out += host_part;
    }

    const std::size_t query = url.find('?', authority_end);
    out += url.substr(authority_end, std::min(query, url.size()) - authority_end);
    if (query == std::string_view::npos) return out;
    std::string_view params = url.substr(query + 1);
    out += '?';
    bool first = true;
    while (!params.empty()) {
        const std::size_t amp = params.find('&');
        const std::string_view param = params.substr(0, amp);
        if (!first) out += '&';
        first = false;
        const std::size_t eq = param.find('=');
        if (eq != std::string_view::npos && param.substr(0, eq) == "password") {
            out += "password=***";
        } else {
            out += param;
        }
        if (amp == std::string_view::npos) break;
        params = params.substr(amp + 1);
    }
    return out;
}

std::optional<fs::path> find_project_root(const fs::path& start) {
    std::error_code ec;
    fs::path dir = fs::absolute(start, ec);
    if (ec) return std::nullopt;
    while (true) {
        if (fs::is_regular_file(dir / k_config_file_name, ec)) return dir;
        if (!dir.has_parent_path() || dir.parent_path() == dir) return std::nullopt;
        dir = dir.parent_path();
    }
}

std::string Settings::effective_database_url() const {
    if (!database_url.empty()) return database_url;
    return "sqlite://" + (project_root / ".m" / "m.sqlite3").string();
}

std::string Settings::value_of(const std::string& key) const {
    if (key == "project.name") return project_name;
    if (key == "project.env") return environment;
    if (key == "database.url") return database_url;
    if (key == "database.pool_size") return std::to_string(db_pool_size);
    if (key == "apps.installed") return fmt::format("{}", fmt::join(installed_apps, ","));
    if (key == "security.secret_key") return secret_key;
    if (key == "log.level") return log_level;
    if (key == "server.host") return server_host;
    if (key == "server.port") return std::to_string(server_port);
    if (key == "server.threads") return std::to_string(server_threads);
    if (key == "server.max_body") return std::to_string(server_max_body);
    if (key == "server.cors_origins") return fmt::format("{}", fmt::join(cors_origins, ","));
    if (key == "server.desk_dir") return desk_dir;
    if (key == "server.header_timeout") return std::to_string(header_timeout);
    if (key == "server.min_body_rate") return std::to_string(min_body_rate);
    if (key == "server.max_streams_per_user") return std::to_string(max_streams_per_user);
    if (key == "server.metrics_token") return metrics_token;
    if (key == "server.trusted_proxies") return fmt::format("{}", fmt::join(trusted_proxies, ","));
    if (key == "server.secure_cookies") return secure_cookies ? "true" : "false";
    if (key == "security.access_ttl") return std::to_string(access_ttl);
    if (key == "security.refresh_ttl") return std::to_string(refresh_ttl);
    if (key == "jobs.nats_url") return nats_url;
    if (key == "jobs.lease") return std::to_string(job_lease);
    if (key == "cache.redis_url") return redis_url;
    return {};
}

Settings load_settings(const SettingsFlags& flags, const EnvLookup& env) {
    Settings s;
    for (const auto& spec : setting_specs()) s.sources[spec.key] = "default";

    fs::path config;
    if (flags.config_file) {
        config = fs::absolute(*flags.config_file);
        if (!fs::is_regular_file(config)) {
            throw Error(ErrorKind::not_found, fmt::format("config file '{}' does not exist",
                                                          flags.config_file->string()));
        }
    } else {
        std::optional<fs::path> start = flags.project_dir;
        if (!start) {
            if (auto p = env("M_PROJECT")) start = fs::path(*p);
        }
        std::optional<fs::path> root;
        if (start) {
            if (!fs::is_regular_file(*start / k_config_file_name)) {
                throw Error(ErrorKind::not_found,
                            fmt::format("'{}' is not an m project (no {} there)", start->string(),
                                        k_config_file_name));
            }
            root = fs::absolute(*start);
        } else {
            root = find_project_root(fs::current_path());
        }
        if (!root) {
            throw Error(ErrorKind::not_found,
                        fmt::format("not inside an m project (no {} here or in any parent "
                                    "folder); create one with `m new project NAME`",
                                    k_config_file_name));
        }
        config = *root / k_config_file_name;
    }
    s.config_file = config.lexically_normal();
    s.project_root = s.config_file.parent_path();
    s.project_name = s.project_root.filename().string();

    load_toml(s, s.config_file);

    // .env sits between the file and the real environment: the environment wins.
    fs::path dotenv = s.project_root / ".env";
    std::map<std::string, std::string> dot;
    if (fs::is_regular_file(dotenv)) dot = read_dotenv(dotenv);
    for (const auto& [name, _] : dot) {
        bool known = std::any_of(setting_specs().begin(), setting_specs().end(),
                                 [&](const SettingSpec& sp) { return name == sp.env; });
        if (!known && name.rfind("M_", 0) == 0 && name != "M_PROJECT") {
            throw Error(ErrorKind::validation, fmt::format(".env: unknown variable '{}'", name));
        }
    }
    for (const auto& spec : setting_specs()) {
        if (auto it = dot.find(spec.env); it != dot.end()) {
            apply(s, spec.key, it->second, ".env", fmt::format(".env: {}", spec.env));
        }
        if (auto v = env(spec.env)) {
            apply(s, spec.key, *v, "env", fmt::format("environment variable {}", spec.env));
        }
    }
    if (flags.log_level) apply(s, "log.level", *flags.log_level, "flag", "flag --verbose/--quiet");
    return s;
}

} // namespace m::core
