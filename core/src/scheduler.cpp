#include "m/core/scheduler.hpp"

#include "m/core/controller.hpp"
#include "m/core/core_app.hpp"
#include "m/core/cron.hpp"
#include "m/core/document_service.hpp"
#include "m/core/error.hpp"
#include "m/core/permissions.hpp"

#include <fmt/format.h>

#include <cctype>

namespace m::core {

namespace {

bool enabled(const Json& row) {
    const Json& v = row.contains("enabled") ? row["enabled"] : Json(true);
    return v.is_boolean() ? v.get<bool>() : (v.is_number() ? v.get<double>() != 0 : false);
}

Json kwargs_of(const Json& row) {
    if (!row.contains("kwargs")) return Json::object();
    const Json& v = row["kwargs"];
    Json parsed = v.is_string() ? Json::parse(v.get<std::string>(), nullptr, false) : v;
    return parsed.is_object() ? parsed : Json::object();
}

std::string text_of(const Json& row, const char* key) {
    return row.contains(key) && row[key].is_string() ? row[key].get<std::string>() : "";
}

class ScheduledJobController final : public Controller {
public:
    explicit ScheduledJobController(const JobRegistry& registry) : m_registry(registry) {}

    void validate(Json& doc, HookContext&) override {
        std::vector<std::string> errors;
        const std::string job = doc.value("job", std::string());
        if (!m_registry.find(job)) {
            std::string names;
            for (const auto& [n, _] : m_registry.all()) names += (names.empty() ? "" : ", ") + n;
            errors.push_back(fmt::format("job: unknown job '{}' (registered: {})", job, names));
        }
        try {
            (void)CronSchedule::parse(doc.value("schedule", std::string()));
        } catch (const Error& e) {
            errors.push_back(std::string("schedule: ") + e.what());
        }
        if (doc.contains("kwargs") && !doc["kwargs"].is_null() && !doc["kwargs"].is_object()) {
            errors.push_back("kwargs: must be a JSON object");
        }
        if (!errors.empty()) {
            std::string message;
            for (const auto& e : errors) message += (message.empty() ? "" : "; ") + e;
            throw Error(ErrorKind::validation, message);
        }
    }

private:
    const JobRegistry& m_registry;
};

/// The id of a tick: "cron.<job>.<tick>", or "cron.<job>.<row>.<tick>" for a row (whose name may
/// hold spaces; job ids may not).
std::string tick_id(const JobDef& def, const std::string& key, std::int64_t tick) {
    if (key.empty()) return fmt::format("cron.{}.{}", def.name, tick);
    std::string safe = key;
    for (char& c : safe) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
    }
    return fmt::format("cron.{}.{}.{}", def.name, safe, tick);
}

} // namespace

std::vector<ExtraSchedule> scheduled_job_rows(DocumentService& documents, Session& session) {
    std::vector<ExtraSchedule> out;
    ListQuery q;
    q.fields = {"name", "job", "schedule", "kwargs", "enabled"};
    q.limit = 1000;
    for (;;) {
        ListResult page = documents.list(session, std::string(k_scheduled_job_doctype), q,
                                         Principal::system_user(), CountMode::none);
        for (const Json& row : page.items) {
            if (!enabled(row)) continue;
            out.push_back(ExtraSchedule{text_of(row, "job"), text_of(row, "schedule"),
                                        kwargs_of(row), text_of(row, "name")});
        }
        if (!page.has_more) break;
        q.offset += q.limit;
    }
    return out;
}

std::unique_ptr<Controller> make_scheduled_job_controller(const JobRegistry& registry) {
    return std::make_unique<ScheduledJobController>(registry);
}

std::vector<JobRecord> enqueue_due_ticks(const JobRegistry& registry, JobQueue& queue,
                                         const std::vector<ExtraSchedule>& extra, std::int64_t now,
                                         std::int64_t window, const SkippedSchedule& skipped) {
    std::vector<JobRecord> out;
    auto due = [&](const JobDef& def, const CronSchedule& cron, const Json& kwargs,
                   const std::string& key) {
        auto tick = cron.latest_at_or_before(now);
        if (!tick || now - *tick >= window) return;
        bool created = false;
        JobRecord r =
            queue.enqueue(def, kwargs, EnqueueOptions{tick_id(def, key, *tick), 0, &created});
        if (created) out.push_back(std::move(r));
    };
    for (const auto& [name, def] : registry.all()) {
        // A registration's schedule was checked when it was registered.
        if (!def.schedule.empty()) due(def, CronSchedule::parse(def.schedule), Json::object(), "");
    }
    for (const auto& s : extra) {
        const JobDef* def = registry.find(s.job);
        if (!def) {
            if (skipped) skipped(s, fmt::format("unknown job '{}'", s.job));
            continue;
        }
        std::optional<CronSchedule> cron;
        try {
            cron = CronSchedule::parse(s.cron);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::validation) throw;
            if (skipped) skipped(s, e.what());
            continue;
        }
        due(*def, *cron, s.kwargs, s.key);
    }
    return out;
}

} // namespace m::core
