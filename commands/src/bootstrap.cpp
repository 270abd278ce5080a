// The composition root: the only place that knows the concrete adapters. Services are chosen by
// URL scheme and added to the container in dependency order; the container stops them in reverse.
#include "m/adapters/nats/module.hpp"
#include "m/adapters/postgres/module.hpp"
#include "m/adapters/redis/redis.hpp"
#include "m/adapters/sqlite/sqlite_database.hpp"
#include "m/commands/app_modules.hpp"
#include "m/commands/command.hpp"
#include "m/core/core_app.hpp"
#include "m/core/doctype_loader.hpp"
#include "m/core/error.hpp"
#include "m/core/worker.hpp"

#include <fmt/format.h>

#include <dlfcn.h>
#include <map>
#include <mutex>
#include <unistd.h>

namespace m::commands {

using core::Error;
using core::ErrorKind;

core::Database& Runtime::db() const {
    if (!database) throw Error(ErrorKind::internal, "command ran without a database");
    return *database;
}

namespace {

namespace fs = std::filesystem;

/// Folder of the running executable (from /proc/self/exe).
fs::path executable_dir() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe.parent_path();
}

using CreateDatabase = int (*)(const char*, std::size_t, core::Database**, char*, std::size_t);

/// m-postgres.so's factory, loaded once.
CreateDatabase postgres_factory() {
    static CreateDatabase factory = nullptr;
    if (!factory) {
        void* handle =
            open_module("m-postgres.so", "m_postgres_module_version", "PostgreSQL support");
        factory = module_symbol<CreateDatabase>(handle, "m_postgres_create_database",
                                                "PostgreSQL support");
    }
    return factory;
}

void* nats_module() {
    return open_module("m-nats.so", "m_nats_module_version", "NATS support (NATS_URL)");
}

/// Calls a factory of m-nats.so: (…, T** out, char* message, size) → 0 or 1 + ErrorKind.
template <class T, class F, class... Args>
std::unique_ptr<T> from_nats(const char* symbol, Args... args) {
    auto factory = module_symbol<F>(nats_module(), symbol, "NATS support (NATS_URL)");
    T* out = nullptr;
    char message[512] = {0};
    int rc = factory(args..., &out, message, sizeof message);
    if (rc != 0) throw Error(static_cast<ErrorKind>(rc - 1), message);
    return std::unique_ptr<T>(out);
}

} // namespace

void Runtime::start_services() {
    if (queue) return;
    const auto& s = settings;
    if (!s.redis_url.empty()) {
        cache = container.add(adapters::redis::make_redis_cache(s.redis_url));
    } else {
        cache = container.add(core::make_memory_cache());
    }
    if (!s.nats_url.empty()) {
        if (!s.redis_url.empty()) {
            job_store = container.add(adapters::redis::make_redis_job_store(s.redis_url));
        } else {
            job_store = container.add(core::make_database_job_store(db()));
        }
        using QueueFactory =
            int (*)(const char*, long long, core::JobStore*, core::JobQueue**, char*, std::size_t);
        using BrokerFactory = int (*)(const char*, core::EventBroker**, char*, std::size_t);
        queue = container.add(from_nats<core::JobQueue, QueueFactory>(
            "m_nats_create_job_queue", s.nats_url.c_str(), s.job_lease * 1000, job_store));
        broker = container.add(from_nats<core::EventBroker, BrokerFactory>(
            "m_nats_create_event_broker", s.nats_url.c_str()));
    } else {
        queue =
            container.add(core::make_database_job_queue(db(), std::chrono::seconds(s.job_lease)));
    }
    container.start();
}

void* open_module(const std::string& file, const std::string& version_symbol,
                  const std::string& what) {
    static std::mutex mutex;
    static std::map<std::string, void*> loaded;
    std::lock_guard lock(mutex);
    if (auto it = loaded.find(file); it != loaded.end()) return it->second;
    fs::path dir = executable_dir();
    std::vector<fs::path> candidates{dir / file, dir.parent_path() / "lib" / "m" / file};
    std::string tried;
    for (const auto& path : candidates) {
        if (!fs::exists(path)) {
            tried += (tried.empty() ? "" : ", ") + path.string();
            continue;
        }
        void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            throw Error(ErrorKind::unavailable,
                        fmt::format("{}: cannot load {}: {}", what, path.string(), dlerror()));
        }
        using Version = const char* (*)();
        auto version = reinterpret_cast<Version>(dlsym(handle, version_symbol.c_str()));
        if (!version) {
            throw Error(ErrorKind::unavailable,
                        fmt::format("{}: {} is not an m module", what, path.string()));
        }
        if (std::string(version()) != M_VERSION) {
            throw Error(ErrorKind::unavailable,
                        fmt::format("{}: {} was built for m {}, this is m {}", what, path.string(),
                                    version(), M_VERSION));
        }
        loaded[file] = handle;
        return handle;
    }
    throw Error(ErrorKind::unavailable,
                fmt::format("{} is not installed (looked for {})", what, tried));
}

void* module_symbol_address(void* handle, const std::string& name, const std::string& what) {
    void* address = dlsym(handle, name.c_str());
    if (!address) {
        throw Error(ErrorKind::unavailable, fmt::format("{}: the module has no {}", what, name));
    }
    return address;
}

core::Settings load_settings_for(const GlobalOptions& options) {
    core::SettingsFlags flags;
    if (!options.project.empty()) flags.project_dir = options.project;
    if (!options.config.empty()) flags.config_file = options.config;
    if (options.verbose > 0) flags.log_level = "debug";
    if (options.quiet > 0) flags.log_level = "error";
    return core::load_settings(flags);
}

std::unique_ptr<core::Database> make_database(const core::Settings& settings) {
    std::string url = settings.effective_database_url();
    auto pool = static_cast<std::size_t>(settings.db_pool_size);
    if (url.rfind("sqlite://", 0) == 0) {
        std::filesystem::path path = url.substr(9);
        if (path.is_relative()) path = settings.project_root / path;
        return std::make_unique<adapters::sqlite::SqliteDatabase>(path, pool);
    }
    if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
        core::Database* db = nullptr;
        char message[512] = {0};
        int rc = postgres_factory()(url.c_str(), pool, &db, message, sizeof message);
        if (rc != 0) throw Error(static_cast<ErrorKind>(rc - 1), message);
        return std::unique_ptr<core::Database>(db);
    }
    throw Error(
        ErrorKind::validation,
        fmt::format("DATABASE_URL '{}' has an unknown scheme (use postgres:// or sqlite://)",
                    core::mask_url(url)));
}

std::unique_ptr<Runtime> bootstrap(const GlobalOptions& options, Needs needs) {
    auto rt = std::make_unique<Runtime>();
    if (needs == Needs::none) return rt;
    rt->settings = load_settings_for(options);
    rt->apps = rt->settings.apps_explicit ? rt->settings.installed_apps
                                          : core::discover_apps(rt->settings.project_root);
    rt->meta = core::load_metadata(rt->settings.project_root, rt->apps);
    if (needs == Needs::settings) return rt;
    if (needs == Needs::full) {
        core::register_builtin_jobs(rt->jobs);
        // Before the apps' controllers: the built-in DocType's own controller, so an app that
        // registers one for it too is told so.
        rt->controllers.add(std::string(core::k_scheduled_job_doctype),
                            core::make_scheduled_job_controller(rt->jobs));
        load_app_modules(rt->settings.project_root, rt->apps, rt->meta, rt->controllers,
                         rt->settings.production() ? Stale::load : Stale::build, &rt->jobs);
    }
    rt->database = rt->container.add(make_database(rt->settings));
    rt->container.start();
    if (needs == Needs::full) rt->start_services();
    return rt;
}

void require_private_project(const core::Settings& settings) {
    if (!settings.production()) return;
    namespace fs = std::filesystem;
    const fs::path& root = settings.project_root;
    for (const fs::path& p :
         {root, root / "apps", root / ".m", root / ".env", root / "framework_config.toml"}) {
        std::error_code ec;
        const auto st = fs::status(p, ec);
        if (ec || !fs::exists(st)) continue;
        if ((st.permissions() & fs::perms::others_write) != fs::perms::none) {
            throw Error(ErrorKind::validation,
                        fmt::format("{} may be written by others (mode {:o}); production refuses "
                                    "to run it: chmod o-w",
                                    p.string(), static_cast<unsigned>(st.permissions()) & 0777));
        }
    }
}

} // namespace m::commands
