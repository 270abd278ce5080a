// The names of new documents, by the DocType's naming rule (docs/reference/doctypes.md, "Naming").
#include "m/core/document_service.hpp"

#include "document_internal.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

namespace m::core {

namespace {

/// "INV-.YYYY.-.#####" -> "INV-2026-\x01-" with 5 counter digits: the parts between dots are
/// date tokens, the counter (a run of '#', marked by \x01) or literal text.
std::string expand_series(const std::string& pattern, int& digits) {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::vector<std::string> parts;
    std::string cur;
    for (char c : pattern) {
        if (c == '.') {
            parts.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    parts.push_back(cur);
    std::string out;
    digits = 0;
    for (const auto& p : parts) {
        if (p == "YYYY")
            out += fmt::format("{:04}", tm.tm_year + 1900);
        else if (p == "YY")
            out += fmt::format("{:02}", (tm.tm_year + 1900) % 100);
        else if (p == "MM")
            out += fmt::format("{:02}", tm.tm_mon + 1);
        else if (p == "DD")
            out += fmt::format("{:02}", tm.tm_mday);
        else if (!p.empty() && std::all_of(p.begin(), p.end(), [](char c) { return c == '#'; })) {
            digits = static_cast<int>(p.size());
            out += "\x01"; // where the counter goes
        } else
            out += p;
    }
    return out;
}

} // namespace

std::string DocumentService::make_name(Session& session, const DocType& dt, const Json& doc,
                                       const Json& input) const {
    switch (dt.naming.kind) {
    case NamingRule::Kind::uuid:
        return doc.at("id").get<std::string>();
    case NamingRule::Kind::prompt:
        if (!input.contains("name") || !input.at("name").is_string() ||
            input.at("name").get<std::string>().empty()) {
            throw Error(ErrorKind::validation,
                        fmt::format("DocType '{}': field 'name' is required (naming rule: prompt)",
                                    dt.name));
        }
        return input.at("name").get<std::string>();
    case NamingRule::Kind::autoincrement:
        return std::to_string(m_db.next_counter(session, dt.name));
    case NamingRule::Kind::field: {
        const std::string& field = dt.naming.argument;
        const Json& v = doc.contains(field) ? doc.at(field) : Json(nullptr);
        if (detail::is_empty_value(v)) {
            throw Error(ErrorKind::validation,
                        fmt::format("DocType '{}': field '{}' is required (it names the document)",
                                    dt.name, field));
        }
        return v.is_string() ? v.get<std::string>() : v.dump();
    }
    case NamingRule::Kind::series:
        break;
    }
    int digits = 0;
    std::string expanded = expand_series(dt.naming.argument, digits);
    auto hole = expanded.find('\x01');
    std::string key = expanded.substr(0, hole);
    long long n = m_db.next_counter(session, key);
    std::string counter = fmt::format("{:0{}}", n, digits);
    return expanded.substr(0, hole) + counter + expanded.substr(hole + 1);
}

} // namespace m::core
