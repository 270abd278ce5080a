// Shared helpers of the black-box tests of `m`: a temp project on one database kind, run `m`
// in it as a user would, and small assertions on what a run printed.
#pragma once

#include "support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace m::test {

namespace fs = std::filesystem;
using nlohmann::json;

/// Asserts an exit code and shows what the run printed when it differs.
#define REQUIRE_EXIT(result, code)                                                                 \
    do {                                                                                           \
        const auto& r_ = (result);                                                                 \
        INFO("exit " << r_.exit_code << "\n--- stdout ---\n"                                       \
                     << r_.out << "\n--- stderr ---\n"                                             \
                     << r_.err);                                                                   \
        REQUIRE(r_.exit_code == (code));                                                           \
    } while (false)

#define CHECK_EXIT(result, code)                                                                   \
    do {                                                                                           \
        const auto& r_ = (result);                                                                 \
        INFO("exit " << r_.exit_code << "\n--- stdout ---\n"                                       \
                     << r_.out << "\n--- stderr ---\n"                                             \
                     << r_.err);                                                                   \
        CHECK(r_.exit_code == (code));                                                             \
    } while (false)

/// True when `text` is exactly one non-empty line ending in a newline (the error lines of
/// docs/reference/commands.md, "Exit codes").
inline bool is_one_line(const std::string& text) {
    return text.size() > 1 && text.back() == '\n' &&
           std::count(text.begin(), text.end(), '\n') == 1;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

/// Parses stdout as JSON, failing the test (with the text) when it is not.
inline json parse_json(const std::string& text) {
    INFO("not JSON:\n" << text);
    json j = json::parse(text, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
}

/// A project created with `m new project` in a temp folder, bound to one database kind. On
/// "postgres" it owns a scratch database that DATABASE_URL points at.
class Project {
public:
    explicit Project(std::string kind, const std::string& name = "demo") : m_kind(std::move(kind)) {
        if (m_kind == "postgres") {
            auto [url, cleanup] = scratch_postgres();
            m_env["DATABASE_URL"] = url;
            m_cleanup = cleanup;
        }
        auto r = run_m({"new", "project", name}, m_dir.path());
        REQUIRE_EXIT(r, 0);
        m_root = m_dir.path() / name;
        REQUIRE(fs::is_regular_file(m_root / "framework_config.toml"));
    }

    const std::string& kind() const { return m_kind; }
    const fs::path& root() const { return m_root; }
    const fs::path& parent() const { return m_dir.path(); }
    const std::map<std::string, std::string>& env() const { return m_env; }

    /// Runs `m args` in the project root with the project's environment plus `extra`.
    RunResult m(const std::vector<std::string>& args, const std::string& input = "",
                const std::map<std::string, std::string>& extra = {}) const {
        auto env = m_env;
        for (const auto& [k, v] : extra) env[k] = v;
        return run_m(args, m_root, env, input);
    }

    /// `m new app billing` + `m new doctype Customer` with the fields of the flow.
    void add_customer() const {
        REQUIRE_EXIT(m({"new", "app", "billing"}), 0);
        REQUIRE_EXIT(
            m({"new", "doctype", "Customer", "--app", "billing", "--field", "customer_name:data",
               "--field", "email:data", "--field", "credit_limit:decimal", "--no-controller"}),
            0);
    }

    fs::path doctype_file(const std::string& app, const std::string& snake) const {
        return m_root / "apps" / app / "doctypes" / snake / "doctype.json";
    }

    /// Number of documents of `doctype` according to `m doc list --json`.
    long long total(const std::string& doctype) const {
        auto r = m({"doc", "list", doctype, "--json", "--limit", "1"});
        REQUIRE_EXIT(r, 0);
        json j = parse_json(r.out);
        REQUIRE(j.contains("total"));
        return j.at("total").get<long long>();
    }

    /// `m migrate status --json`.
    json status() const {
        auto r = m({"migrate", "status", "--json"});
        REQUIRE_EXIT(r, 0);
        return parse_json(r.out);
    }

private:
    std::string m_kind;
    std::map<std::string, std::string> m_env;
    std::shared_ptr<void> m_cleanup; // dropped after the temp folder: declared before it
    TempDir m_dir;
    fs::path m_root;
};

/// Edits a doctype.json in place.
template <class Fn> void edit_json(const fs::path& file, Fn fn) {
    json j = json::parse(read_file(file));
    fn(j);
    write_file(file, j.dump(2) + "\n");
}

} // namespace m::test
