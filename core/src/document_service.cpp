#include "m/core/document_service.hpp"

#include "m/core/accounts.hpp"
#include "m/core/core_app.hpp"
#include "m/core/jobs.hpp"
#include "m/core/outbox.hpp"

#include "m/core/error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <regex>
#include <set>

namespace m::core {

namespace {

/// 8-4-4-4-12 hexadecimal digits, as new_uuid() makes them.
bool is_uuid(const std::string& s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

/// A field pattern, compiled once per process (patterns come from metadata, so the set is small;
/// the loader has checked that each one compiles).
const std::regex& compiled_pattern(const std::string& pattern) {
    static std::mutex mutex;
    static std::map<std::string, std::unique_ptr<const std::regex>> cache;
    std::lock_guard lock(mutex);
    auto& slot = cache[pattern];
    if (!slot) slot = std::make_unique<const std::regex>(pattern, std::regex::ECMAScript);
    return *slot;
}

bool is_empty_value(const Json& v) {
    return v.is_null() || (v.is_string() && v.get_ref<const std::string&>().empty()) ||
           (v.is_array() && v.empty());
}

std::size_t utf8_length(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

/// Declarative checks on one coerced value; appends messages to `errors`.
void check_constraints(const Field& f, const Json& v, std::vector<std::string>& errors,
                       const std::string& prefix) {
    if (v.is_null()) return;
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        std::size_t len = utf8_length(s);
        std::size_t max = f.max_length ? static_cast<std::size_t>(*f.max_length)
                          : (f.type == FieldType::data || f.type == FieldType::select ||
                             f.type == FieldType::link)
                              ? 140
                              : 0;
        if (max && len > max) {
            errors.push_back(
                fmt::format("{}field '{}': longer than {} characters", prefix, f.name, max));
        }
        if (f.min_length && len < static_cast<std::size_t>(*f.min_length) && !s.empty()) {
            errors.push_back(fmt::format("{}field '{}': shorter than {} characters", prefix, f.name,
                                         *f.min_length));
        }
        if (!f.pattern.empty() && !s.empty() &&
            !std::regex_search(s, compiled_pattern(f.pattern))) {
            errors.push_back(fmt::format("{}field '{}': '{}' does not match the pattern {}", prefix,
                                         f.name, s, f.pattern));
        }
    }
    if (v.is_number()) {
        double d = v.get<double>();
        if (f.min && d < *f.min) {
            errors.push_back(fmt::format("{}field '{}': {} is less than the minimum {}", prefix,
                                         f.name, v.dump(), *f.min));
        }
        if (f.max && d > *f.max) {
            errors.push_back(fmt::format("{}field '{}': {} is more than the maximum {}", prefix,
                                         f.name, v.dump(), *f.max));
        }
        if (f.type == FieldType::decimal && std::fabs(d) >= 1e12) {
            errors.push_back(fmt::format("{}field '{}': {} is too large (at most 12 digits before "
                                         "the point)",
                                         prefix, f.name, v.dump()));
        }
    }
}

std::string expand_series(const std::string& pattern, int& digits) {
    // "INV-.YYYY.-.#####" -> "INV-2026-" with 5 counter digits.
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::string out;
    std::string token;
    digits = 0;
    std::size_t i = 0;
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
    for (const auto& p : parts) {
        ++i;
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

/// The document with keys in metadata order: standard fields, then fields as declared (child
/// rows likewise), so every command prints documents the same way.
Json in_field_order(const MetaRegistry& meta, const DocType& dt, const Json& doc) {
    Json out = Json::object();
    for (const auto& f : dt.columns()) {
        if (f.type == FieldType::password) continue;
        auto it = doc.find(f.name);
        if (it != doc.end()) out[f.name] = *it;
    }
    for (const auto& f : dt.fields) {
        if (f.type != FieldType::table) continue;
        const DocType& child = meta.get(f.options);
        Json rows = Json::array();
        if (auto it = doc.find(f.name); it != doc.end()) {
            for (const auto& row : *it) rows.push_back(in_field_order(meta, child, row));
        }
        // Insert the table where it was declared among the fields.
        out[f.name] = std::move(rows);
    }
    if (!dt.fields.empty()) {
        Json ordered = Json::object();
        for (const auto& f : dt.columns()) {
            if (!f.standard) break;
            if (out.contains(f.name)) ordered[f.name] = out[f.name];
        }
        for (const auto& f : dt.fields) {
            if (out.contains(f.name)) ordered[f.name] = out[f.name];
        }
        return ordered;
    }
    return out;
}

/// Runs one hook; its errors name the DocType and the hook, keeping their kind.
template <class Fn> void run_hook(const DocType& dt, const char* hook, Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        throw Error(e.kind(), fmt::format("DocType '{}': {}: {}", dt.name, hook, e.what()),
                    e.details());
    } catch (const std::exception& e) {
        throw Error(ErrorKind::internal,
                    fmt::format("DocType '{}': {} failed: {}", dt.name, hook, e.what()));
    }
}

[[noreturn]] void throw_errors(const DocType& dt, const std::vector<std::string>& errors) {
    throw Error(ErrorKind::validation,
                fmt::format("DocType '{}': {}", dt.name, fmt::join(errors, "; ")),
                nlohmann::json(errors));
}

} // namespace

Json DocumentService::build_fields(Session& session, const DocType& dt, const Json& input,
                                   const Json* existing, std::vector<std::string>& errors,
                                   const std::string& prefix) const {
    Json doc = Json::object();
    for (const auto& f : dt.fields) {
        bool given = input.contains(f.name);
        Json value;
        if (given) {
            value = input.at(f.name);
        } else if (existing && existing->contains(f.name)) {
            doc[f.name] = existing->at(f.name);
            continue;
        } else if (!existing && !f.default_value.is_null()) {
            value = to_ordered(f.default_value);
        } else {
            value = f.type == FieldType::table ? Json::array() : Json(nullptr);
        }
        try {
            value = coerce_value(f, value);
        } catch (const Error& e) {
            errors.push_back(prefix + e.what());
            continue;
        }
        if (f.type == FieldType::table) {
            const DocType& child = m_meta.get(f.options);
            Json rows = Json::array();
            std::set<std::string> row_ids;
            for (std::size_t i = 0; i < value.size(); ++i) {
                const Json& row = value[i];
                std::string row_prefix =
                    fmt::format("{}field '{}' row {}: ", prefix, f.name, i + 1);
                if (!row.is_object()) {
                    errors.push_back(row_prefix + "must be an object");
                    continue;
                }
                for (const auto& [key, _] : row.items()) {
                    if (!child.find(key)) {
                        errors.push_back(fmt::format("{}unknown field '{}'", row_prefix, key));
                    }
                }
                Json built = build_fields(session, child, row, nullptr, errors, row_prefix);
                if (auto id = row.find("id"); id != row.end() && !id->is_null()) {
                    // A row keeps its id across saves; a new one may bring its own, but only a
                    // UUID, once per document (the database would refuse a duplicate with its
                    // own text).
                    if (!id->is_string() || !is_uuid(id->get<std::string>())) {
                        errors.push_back(row_prefix + "id must be a UUID");
                    } else if (!row_ids.insert(id->get<std::string>()).second) {
                        errors.push_back(row_prefix + "duplicate row id " + id->get<std::string>());
                    } else {
                        built["id"] = *id;
                    }
                }
                rows.push_back(std::move(built));
            }
            value = std::move(rows);
        }
        if (f.required && is_empty_value(value)) {
            errors.push_back(fmt::format("{}field '{}' is required", prefix, f.name));
        }
        check_constraints(f, value, errors, prefix);
        if (f.type == FieldType::link && value.is_string() && !value.get<std::string>().empty() &&
            (given || !existing)) {
            const DocType& target = m_meta.get(f.options);
            if (!m_repo.exists(session, target, "name", value)) {
                errors.push_back(fmt::format("{}field '{}': {} '{}' does not exist", prefix, f.name,
                                             target.name, value.get<std::string>()));
            }
        }
        if (f.type == FieldType::password && given && value.is_string()) {
            Json email = input.value("email", existing ? existing->value("email", Json(nullptr))
                                                       : Json(nullptr));
            try {
                check_password_policy(value.get<std::string>(),
                                      dt.name == k_user_doctype && email.is_string()
                                          ? email.get<std::string>()
                                          : std::string());
                value = hash_password(value.get<std::string>());
            } catch (const Error& e) {
                errors.push_back(fmt::format("{}field '{}': {}", prefix, f.name, e.what()));
            }
        }
        doc[f.name] = std::move(value);
    }
    return doc;
}

namespace {

/// [[field, old, new], ...] over the columns of `dt` (standard bookkeeping fields excluded).
Json field_changes(const DocType& dt, const Json& before, const Json& after) {
    Json changed = Json::array();
    for (const auto& f : dt.columns()) {
        if (f.type == FieldType::password ||
            (f.standard && f.name != "docstatus" && f.name != "name")) {
            continue;
        }
        Json a = before.value(f.name, Json(nullptr));
        Json b = after.value(f.name, Json(nullptr));
        if (a != b) changed.push_back(Json::array({f.name, a, b}));
    }
    return changed;
}

} // namespace

void DocumentService::record_version(Session& session, const DocType& dt, const Json& before,
                                     const Json& after, const std::string& user) const {
    if (!dt.track_changes) return;
    Json data = Json::object();
    data["changed"] = field_changes(dt, before, after);
    data["added"] = Json::array();
    data["removed"] = Json::array();
    data["row_changed"] = Json::array();
    for (const auto& f : dt.fields) {
        if (f.type != FieldType::table) continue;
        const DocType& child = m_meta.get(f.options);
        Json old_rows = before.value(f.name, Json::array());
        Json new_rows = after.value(f.name, Json::array());
        // Rows are matched by id: kept rows diff field by field, others are added or removed.
        for (const auto& row : new_rows) {
            auto match = std::find_if(old_rows.begin(), old_rows.end(), [&](const Json& o) {
                return o.value("id", Json()) == row.value("id", Json());
            });
            if (match == old_rows.end()) {
                data["added"].push_back(Json::array({f.name, row}));
            } else {
                Json diff = field_changes(child, *match, row);
                for (auto it = diff.begin(); it != diff.end();) {
                    it = (*it)[0] == "docstatus" ? diff.erase(it) : it + 1;
                }
                if (!diff.empty()) {
                    data["row_changed"].push_back(
                        Json::array({f.name, row.value("idx", Json()), diff}));
                }
            }
        }
        for (const auto& row : old_rows) {
            bool kept = std::any_of(new_rows.begin(), new_rows.end(), [&](const Json& n) {
                return n.value("id", Json()) == row.value("id", Json());
            });
            if (!kept) data["removed"].push_back(Json::array({f.name, row}));
        }
    }
    if (data["changed"].empty() && data["added"].empty() && data["removed"].empty() &&
        data["row_changed"].empty()) {
        return;
    }
    const SqlDialect& d = m_repo.dialect();
    session.execute(fmt::format("INSERT INTO m_versions (id, ref_doctype, docname, data, owner, "
                                "creation) VALUES ({}, {}, {}, {}, {}, {})",
                                d.placeholder(1), d.placeholder(2), d.placeholder(3),
                                d.placeholder(4), d.placeholder(5), d.placeholder(6)),
                    {new_uuid(), dt.name, after.at("name").get<std::string>(), data.dump(), user,
                     now_timestamp()});
}

std::vector<Json> DocumentService::versions(Session& session, const std::string& doctype,
                                            const std::string& id_or_name,
                                            const Principal& who) const {
    const DocType& dt = m_meta.get(doctype);
    require(dt, who, "read");
    Json doc = load_for(session, dt, id_or_name, who);
    const SqlDialect& d = m_repo.dialect();
    auto rs = session.query(fmt::format("SELECT creation, owner, data FROM m_versions WHERE "
                                        "ref_doctype = {} AND docname = {} ORDER BY creation, id",
                                        d.placeholder(1), d.placeholder(2)),
                            {dt.name, doc.at("name").get<std::string>()});
    Field at;
    at.name = "creation";
    at.type = FieldType::datetime;
    std::vector<Json> out;
    for (const auto& row : rs.rows) {
        Json v = Json::object();
        v["creation"] = from_sql(at, row[0]);
        v["owner"] = row[1] ? Json(*row[1]) : Json(nullptr);
        v["data"] = Json::parse(row[2].value_or("{}"), nullptr, false);
        out.push_back(std::move(v));
    }
    return out;
}

Controller& DocumentService::controller(const DocType& dt) const {
    static Controller no_op;
    return m_controllers ? m_controllers->get(dt.name) : no_op;
}

void DocumentService::recheck(const DocType& dt, Json& doc, std::vector<std::string>& errors,
                              const std::string& prefix) const {
    // Hooks may change the document; what they wrote must still fit the metadata.
    for (const auto& f : dt.fields) {
        auto it = doc.find(f.name);
        if (it == doc.end()) continue;
        try {
            *it = coerce_value(f, *it);
        } catch (const Error& e) {
            errors.push_back(prefix + e.what());
            continue;
        }
        if (f.type == FieldType::table) {
            const DocType& child = m_meta.get(f.options);
            for (std::size_t i = 0; i < it->size(); ++i) {
                recheck(child, (*it)[i], errors,
                        fmt::format("{}field '{}' row {}: ", prefix, f.name, i + 1));
            }
        }
    }
}

void DocumentService::check_unique(Session& session, const DocType& dt, const Json& doc,
                                   const std::string& self_id) const {
    for (const auto& f : dt.fields) {
        if (!f.unique) continue;
        auto it = doc.find(f.name);
        if (it == doc.end() || is_empty_value(*it)) continue;
        if (m_repo.exists(session, dt, f.name, *it, self_id)) {
            // details.field lets a form put the message on the field (the Desk does).
            throw Error(ErrorKind::conflict,
                        fmt::format("DocType '{}': field '{}': value {} already exists", dt.name,
                                    f.name, it->dump()),
                        nlohmann::json{{"field", f.name}});
        }
    }
}

std::string DocumentService::make_name(Session& session, const DocType& dt, const Json& doc,
                                       const Json& input) const {
    const std::string& rule = dt.naming_rule;
    if (rule == "uuid") return doc.at("id").get<std::string>();
    if (rule == "prompt") {
        if (!input.contains("name") || !input.at("name").is_string() ||
            input.at("name").get<std::string>().empty()) {
            throw Error(ErrorKind::validation,
                        fmt::format("DocType '{}': field 'name' is required (naming rule: prompt)",
                                    dt.name));
        }
        return input.at("name").get<std::string>();
    }
    if (rule == "autoincrement") {
        return std::to_string(m_db.next_counter(session, dt.name));
    }
    if (rule.rfind("field:", 0) == 0) {
        std::string field = rule.substr(6);
        const Json& v = doc.contains(field) ? doc.at(field) : Json(nullptr);
        if (is_empty_value(v)) {
            throw Error(ErrorKind::validation,
                        fmt::format("DocType '{}': field '{}' is required (it names the document)",
                                    dt.name, field));
        }
        return v.is_string() ? v.get<std::string>() : v.dump();
    }
    // series:PREFIX.#####
    int digits = 0;
    std::string expanded = expand_series(rule.substr(7), digits);
    auto hole = expanded.find('\x01');
    std::string key = expanded.substr(0, hole);
    long long n = m_db.next_counter(session, key);
    std::string counter = fmt::format("{:0{}}", n, digits);
    return expanded.substr(0, hole) + counter + expanded.substr(hole + 1);
}

void DocumentService::save_children(Session& session, const DocType& dt, Json& doc,
                                    const std::string& user, bool replace) const {
    for (const auto& f : dt.fields) {
        if (f.type != FieldType::table) continue;
        const DocType& child = m_meta.get(f.options);
        if (replace)
            m_repo.delete_children(session, child, doc.at("id").get<std::string>(), f.name);
        Json& rows = doc[f.name];
        long long idx = 0;
        for (auto& row : rows) {
            if (!row.contains("id")) {
                row["id"] = new_uuid();
            } else if (m_repo.exists(session, child, "id", row.at("id"))) {
                // This document's own rows were deleted above: the id is another document's.
                throw Error(ErrorKind::conflict,
                            fmt::format("DocType '{}': field '{}' row {}: row id {} belongs to "
                                        "another document",
                                        dt.name, f.name, idx + 1, row.at("id").get<std::string>()));
            }
            row["name"] = row["id"];
            row["owner"] = doc.at("owner");
            row["creation"] = doc.at("modified");
            row["modified"] = doc.at("modified");
            row["modified_by"] = user;
            row["docstatus"] = doc.at("docstatus");
            row["parent_id"] = doc.at("id");
            row["parent_doctype"] = dt.name;
            row["parent_field"] = f.name;
            row["idx"] = ++idx;
            m_repo.insert(session, child, row);
            for (const auto& cf : child.fields) {
                if (cf.type == FieldType::password) row.erase(cf.name);
            }
        }
    }
}

Json DocumentService::insert(Session& session, const std::string& doctype, const Json& given,
                             const Principal& who) const {
    const DocType& dt = m_meta.get(doctype);
    require(dt, who, "create");
    const std::string& user = who.user;
    if (dt.is_child_table) {
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}' is a child table: its rows are saved with their "
                                "parent document",
                                dt.name));
    }
    if (!given.is_object()) {
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}': a document must be a JSON object", dt.name));
    }
    Json input = given;
    guard_input(session, dt, who, input);
    std::vector<std::string> errors;
    for (const auto& [key, _] : input.items()) {
        if (!dt.find(key)) errors.push_back(fmt::format("unknown field '{}'", key));
    }
    Json fields = build_fields(session, dt, input, nullptr, errors, "");
    if (!errors.empty()) {
        nlohmann::json details = errors;
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}': {}", dt.name, fmt::join(errors, "; ")), details);
    }
    Json doc = Json::object();
    std::string id = new_uuid();
    const bool id_given = input.contains("id") && input.at("id").is_string();
    if (id_given) {
        Field idf;
        idf.name = "id";
        idf.type = FieldType::uuid;
        id = coerce_value(idf, input.at("id")).get<std::string>();
    }
    std::string now = now_timestamp();
    doc["id"] = id;
    doc["name"] = nullptr;
    doc["owner"] = user;
    doc["creation"] = now;
    doc["modified"] = now;
    doc["modified_by"] = user;
    doc["docstatus"] = 0;
    for (auto& [k, v] : fields.items()) doc[k] = v;

    Controller& ctl = controller(dt);
    HookContext ctx{who, session, Documents(*this, session, who), dt};
    run_hook(dt, "validate", [&] { ctl.validate(doc, ctx); });
    run_hook(dt, "before_insert", [&] { ctl.before_insert(doc, ctx); });
    run_hook(dt, "before_save", [&] { ctl.before_save(doc, ctx); });
    recheck(dt, doc, errors, "");
    if (!errors.empty()) throw_errors(dt, errors);

    std::string name = make_name(session, dt, doc, input);
    if (name.size() > 140) {
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}': name '{}...' is longer than 140 characters", dt.name,
                                name.substr(0, 40)));
    }
    doc["name"] = name;
    if (m_repo.exists(session, dt, "name", Json(name))) {
        // With naming by a field, the field is what the user must change.
        Json details = nullptr;
        if (dt.naming_rule.rfind("field:", 0) == 0) {
            details = Json{{"field", dt.naming_rule.substr(6)}};
        }
        throw Error(
            ErrorKind::conflict,
            fmt::format("DocType '{}': a document named '{}' already exists", dt.name, name),
            details);
    }
    // A generated UUID cannot collide; only an id given by the caller needs the round trip.
    if (id_given && m_repo.exists(session, dt, "id", Json(id))) {
        throw Error(
            ErrorKind::conflict,
            fmt::format("DocType '{}': a document with id '{}' already exists", dt.name, id));
    }
    check_unique(session, dt, doc, {});
    Json row = doc;
    for (const auto& f : dt.fields) {
        if (f.type == FieldType::table) row.erase(f.name);
    }
    m_repo.insert(session, dt, row);
    save_children(session, dt, doc, user, false);
    Json saved = in_field_order(m_meta, dt, doc);
    run_hook(dt, "after_insert", [&] { ctl.after_insert(saved, ctx); });
    run_hook(dt, "after_save", [&] { ctl.after_save(saved, ctx); });
    emit(session, dt, "doc.created", saved, user);
    return saved;
}

Json DocumentService::load(Session& session, const DocType& dt, const std::string& key) const {
    std::optional<Json> row;
    if (valid_uuid(key)) {
        std::string lower = key;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        row = m_repo.find(session, dt, "id", lower);
    }
    if (!row) row = m_repo.find(session, dt, "name", key);
    if (!row) {
        throw Error(ErrorKind::not_found,
                    fmt::format("{} '{}' not found", dt.name,
                                key.size() > 80 ? key.substr(0, 77) + "..." : key));
    }
    return *row;
}

void DocumentService::load_children(Session& session, const DocType& dt, Json& doc) const {
    for (const auto& f : dt.fields) {
        if (f.type != FieldType::table) continue;
        const DocType& child = m_meta.get(f.options);
        Json rows = Json::array();
        for (auto& r : m_repo.children(session, child, doc.at("id").get<std::string>(), f.name)) {
            rows.push_back(std::move(r));
        }
        doc[f.name] = std::move(rows);
    }
}

Json DocumentService::get(Session& session, const std::string& doctype,
                          const std::string& id_or_name, const Principal& who) const {
    const DocType& dt = m_meta.get(doctype);
    require(dt, who, "read");
    Json doc = load_for(session, dt, id_or_name, who);
    load_children(session, dt, doc);
    return in_field_order(m_meta, dt, doc);
}

Json DocumentService::update(Session& session, const std::string& doctype,
                             const std::string& id_or_name, const Json& given,
                             const Principal& who) const {
    const DocType& dt = m_meta.get(doctype);
    require(dt, who, "write");
    const std::string& user = who.user;
    if (!given.is_object()) {
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}': an update must be a JSON object", dt.name));
    }
    Json current = load_for(session, dt, id_or_name, who);
    Json patch = given;
    guard_input(session, dt, who, patch);
    load_children(session, dt, current);
    if (current.at("docstatus").get<long long>() == 2) {
        throw Error(ErrorKind::validation,
                    fmt::format("{} '{}' is cancelled and cannot be changed", dt.name,
                                current.at("name").get<std::string>()));
    }
    std::string id = current.at("id").get<std::string>();
    std::string stored_modified = current.at("modified").get<std::string>();
    if (patch.contains("modified") && !patch.at("modified").is_null()) {
        Field mf;
        mf.name = "modified";
        mf.type = FieldType::datetime;
        Json given = coerce_value(mf, patch.at("modified"));
        if (given.get<std::string>() != stored_modified) {
            throw Error(ErrorKind::conflict,
                        fmt::format("{} '{}' was modified by someone else at {} (your copy is "
                                    "from {}); reload and try again",
                                    dt.name, current.at("name").get<std::string>(), stored_modified,
                                    given.get<std::string>()));
        }
    }
    std::vector<std::string> errors;
    Json changes = Json::object();
    for (const auto& [key, value] : patch.items()) {
        const Field* f = dt.find(key);
        if (!f) {
            errors.push_back(fmt::format("unknown field '{}'", key));
            continue;
        }
        if (f->standard) continue; // read-only keys are ignored
        if (current.at("docstatus").get<long long>() == 1 && !f->allow_on_submit &&
            value != current.value(key, Json(nullptr))) {
            errors.push_back(
                fmt::format("field '{}' cannot change: the document is submitted", key));
            continue;
        }
        // Set by the controller, not by clients (docs/reference/doctypes.md, "Lifecycle").
        if (f->read_only) continue;
        changes[key] = value;
    }
    if (!errors.empty()) {
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}': {}", dt.name, fmt::join(errors, "; ")),
                    nlohmann::json(errors));
    }
    Json fields = build_fields(session, dt, changes, &current, errors, "");
    if (!errors.empty()) throw_errors(dt, errors);
    Json doc = current;
    for (auto& [k, v] : fields.items()) doc[k] = v;

    Controller& ctl = controller(dt);
    HookContext ctx{who, session, Documents(*this, session, who), dt};
    run_hook(dt, "validate", [&] { ctl.validate(doc, ctx); });
    run_hook(dt, "before_save", [&] { ctl.before_save(doc, ctx); });
    recheck(dt, doc, errors, "");
    if (!errors.empty()) throw_errors(dt, errors);

    // Write every field whose value differs from the stored one: the patch and what hooks set.
    Json row = Json::object();
    bool children_changed = false;
    for (const auto& f : dt.fields) {
        Json before = current.value(f.name, Json(nullptr));
        Json after = doc.value(f.name, Json(nullptr));
        if (before == after && !(f.type == FieldType::table && changes.contains(f.name))) continue;
        if (current.at("docstatus").get<long long>() != 0 && !f.allow_on_submit) {
            errors.push_back(
                fmt::format("field '{}' cannot change: the document is submitted", f.name));
            continue;
        }
        if (f.type == FieldType::table)
            children_changed = true;
        else
            row[f.name] = after;
    }
    if (!errors.empty()) throw_errors(dt, errors);
    check_unique(session, dt, doc, id);
    std::string now = now_timestamp();
    doc["modified"] = now;
    doc["modified_by"] = user;
    row["modified"] = now;
    row["modified_by"] = user;
    if (m_repo.update(session, dt, id, row, stored_modified) == 0) {
        throw Error(ErrorKind::conflict,
                    fmt::format("{} '{}' was changed or deleted by someone else; reload and try "
                                "again",
                                dt.name, current.at("name").get<std::string>()));
    }
    if (children_changed) save_children(session, dt, doc, user, true);
    Json saved = in_field_order(m_meta, dt, doc);
    record_version(session, dt, current, saved, user);
    run_hook(dt, "after_save", [&] { ctl.after_save(saved, ctx); });
    const bool password_set = std::any_of(dt.fields.begin(), dt.fields.end(), [&](const Field& f) {
        return f.type == FieldType::password && fields.contains(f.name);
    });
    if (dt.name == k_user_doctype && credentials_changed(current, saved, password_set)) {
        revoke_sessions(*this, session, saved.at("name").get<std::string>(), who);
    }
    emit(session, dt, "doc.updated", saved, user);
    return saved;
}

Json DocumentService::remove(Session& session, const std::string& doctype,
                             const std::string& id_or_name, const Principal& who) const {
    const DocType& dt = m_meta.get(doctype);
    require(dt, who, "delete");
    const std::string& user = who.user;
    Json current = load_for(session, dt, id_or_name, who);
    if (current.at("docstatus").get<long long>() == 1) {
        throw Error(ErrorKind::validation,
                    fmt::format("{} '{}' is submitted and cannot be deleted; cancel it first",
                                dt.name, current.at("name").get<std::string>()));
    }
    load_children(session, dt, current);
    Json doc = in_field_order(m_meta, dt, current);
    Controller& ctl = controller(dt);
    HookContext ctx{who, session, Documents(*this, session, who), dt};
    run_hook(dt, "before_delete", [&] { ctl.before_delete(doc, ctx); });
    std::string id = doc.at("id").get<std::string>();
    for (const auto& f : dt.fields) {
        if (f.type == FieldType::table) {
            m_repo.delete_children(session, m_meta.get(f.options), id, f.name);
        }
    }
    if (dt.name == k_user_doctype) {
        revoke_sessions(*this, session, doc.at("name").get<std::string>(), who);
    }
    m_repo.remove(session, dt, id);
    run_hook(dt, "after_delete", [&] { ctl.after_delete(doc, ctx); });
    emit(session, dt, "doc.deleted", doc, user);
    return doc;
}

void DocumentService::enqueue_after_commit(Session& session, const std::string& name,
                                           const Json& kwargs) const {
    if (!m_job_registry || !m_job_queue) {
        throw Error(ErrorKind::unavailable,
                    fmt::format("cannot enqueue job '{}': this process has no job queue", name));
    }
    const JobDef& def = m_job_registry->get(name);
    if (!kwargs.is_object()) {
        throw Error(ErrorKind::validation,
                    fmt::format("job '{}': kwargs must be a JSON object", name));
    }
    // The embedded queue takes the job in this very transaction; a broker only after the commit,
    // and then a failure cannot undo the saved document: it is logged, not thrown.
    if (m_job_queue->enqueue_in(session, def, kwargs)) return;
    JobQueue* queue = m_job_queue;
    session.on_commit([queue, &def, kwargs] {
        try {
            queue->enqueue(def, kwargs);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "m: job '%s' was not enqueued after the commit: %s\n",
                         def.name.c_str(), e.what());
        }
    });
}

void DocumentService::emit(Session& session, const DocType& dt, const char* topic, const Json& doc,
                           const std::string& user) const {
    // The transactional outbox: the event commits or rolls back with the change
    // (docs/reference/jobs-events.md, "The transactional outbox").
    record_event(session, m_db.dialect(), DocEvent::of(topic, dt.name, doc, dt.rls_field, user));
}

Json DocumentService::transition(Session& session, const DocType& dt, const std::string& id_or_name,
                                 const Principal& who, long long from, long long to) const {
    const char* verb = to == 1 ? "submit" : "cancel";
    require(dt, who, verb);
    const std::string& user = who.user;
    if (!dt.is_submittable) {
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}' is not submittable, so it cannot {}", dt.name, verb));
    }
    Json current = load_for(session, dt, id_or_name, who);
    load_children(session, dt, current);
    const std::string name = current.at("name").get<std::string>();
    long long status = current.at("docstatus").get<long long>();
    if (status != from) {
        static const char* states[] = {"a draft", "submitted", "cancelled"};
        throw Error(ErrorKind::validation, fmt::format("cannot {} {} '{}': it is {}", verb, dt.name,
                                                       name, states[std::clamp(status, 0LL, 2LL)]));
    }
    Json doc = in_field_order(m_meta, dt, current);
    std::vector<std::string> errors;
    Controller& ctl = controller(dt);
    HookContext ctx{who, session, Documents(*this, session, who), dt};
    if (to == 1) {
        // A submitted document is final: required fields are checked again, then `validate`.
        for (const auto& f : dt.fields) {
            if (f.required && is_empty_value(current.value(f.name, Json(nullptr)))) {
                errors.push_back(fmt::format("field '{}' is required", f.name));
            }
        }
        if (!errors.empty()) throw_errors(dt, errors);
        run_hook(dt, "validate", [&] { ctl.validate(doc, ctx); });
        run_hook(dt, "on_submit", [&] { ctl.on_submit(doc, ctx); });
    } else {
        run_hook(dt, "on_cancel", [&] { ctl.on_cancel(doc, ctx); });
    }
    recheck(dt, doc, errors, "");
    if (!errors.empty()) throw_errors(dt, errors);
    Json row = Json::object();
    for (const auto& f : dt.fields) {
        if (f.type == FieldType::table) continue;
        if (doc.value(f.name, Json(nullptr)) != current.value(f.name, Json(nullptr))) {
            row[f.name] = doc.value(f.name, Json(nullptr));
        }
    }
    std::string now = now_timestamp();
    row["docstatus"] = to;
    row["modified"] = now;
    row["modified_by"] = user;
    doc["docstatus"] = to;
    doc["modified"] = now;
    doc["modified_by"] = user;
    if (m_repo.update(session, dt, doc.at("id").get<std::string>(), row,
                      current.at("modified").get<std::string>()) == 0) {
        throw Error(ErrorKind::conflict,
                    fmt::format("{} '{}' was changed by someone else; reload and try again",
                                dt.name, name));
    }
    // Child rows follow their parent's docstatus.
    for (const auto& f : dt.fields) {
        if (f.type != FieldType::table) continue;
        const DocType& child = m_meta.get(f.options);
        for (auto& r : doc[f.name]) {
            m_repo.update(session, child, r.at("id").get<std::string>(),
                          Json{{"docstatus", to}, {"modified", now}, {"modified_by", user}});
            r["docstatus"] = to;
        }
    }
    record_version(session, dt, current, doc, user);
    emit(session, dt, to == 1 ? "doc.submitted" : "doc.cancelled", doc, user);
    return doc;
}

Json DocumentService::submit(Session& session, const std::string& doctype,
                             const std::string& id_or_name, const Principal& who) const {
    return transition(session, m_meta.get(doctype), id_or_name, who, 0, 1);
}

Json DocumentService::cancel(Session& session, const std::string& doctype,
                             const std::string& id_or_name, const Principal& who) const {
    return transition(session, m_meta.get(doctype), id_or_name, who, 1, 2);
}

const std::string& DocumentService::method_permission(const std::string& doctype,
                                                      const std::string& method) const {
    const DocType& dt = m_meta.get(doctype);
    const MethodEntry* entry = m_controllers ? m_controllers->method(dt.name, method) : nullptr;
    if (!entry) {
        throw Error(ErrorKind::not_found,
                    fmt::format("DocType '{}' has no callable method '{}'", dt.name, method));
    }
    return entry->permission;
}

Json DocumentService::call(Session& session, const std::string& doctype,
                           const std::string& id_or_name, const std::string& method,
                           const Json& kwargs, const Principal& who) const {
    const DocType& dt = m_meta.get(doctype);
    require(dt, who, method_permission(doctype, method));
    const MethodEntry& entry = *m_controllers->method(dt.name, method);
    if (!kwargs.is_object()) {
        throw Error(ErrorKind::validation,
                    fmt::format("{}.{}: kwargs must be a JSON object", dt.name, method));
    }
    HookContext ctx{who, session, Documents(*this, session, who), dt};
    Json doc;
    if (!id_or_name.empty()) {
        doc = load_for(session, dt, id_or_name, who);
        load_children(session, dt, doc);
        doc = in_field_order(m_meta, dt, doc);
    }
    Json result;
    std::string hook = "method " + method;
    run_hook(dt, hook.c_str(),
             [&] { result = entry.method(id_or_name.empty() ? nullptr : &doc, kwargs, ctx); });
    return result;
}

ListResult DocumentService::list(Session& session, const std::string& doctype, ListQuery query,
                                 const Principal& who, CountMode count) const {
    const DocType& dt = m_meta.get(doctype);
    require(dt, who, "read");
    if (rls_applies(dt, who)) query.filters.push_back(rls_filter(dt, who));
    if (query.limit < 1) throw Error(ErrorKind::validation, "limit must be at least 1");
    if (query.offset < 0) throw Error(ErrorKind::validation, "offset must not be negative");
    ListResult result;
    result.limit = query.limit;
    result.offset = query.offset;
    // Without an exact count, has_more comes from fetching one row more than asked for.
    auto probe_page = [&] {
        ListQuery probe = query;
        probe.limit = query.limit + 1;
        result.items = m_repo.list(session, dt, probe);
        result.has_more = static_cast<long long>(result.items.size()) > query.limit;
        if (result.has_more) result.items.pop_back();
    };
    if (count == CountMode::none) {
        probe_page();
        return result;
    }
    if (count == CountMode::estimated && query.filters.empty()) {
        // The planner's figure for large unfiltered tables (counting them costs a scan); small
        // tables, filtered lists and databases without statistics are counted exactly.
        constexpr long long k_estimate_above = 100000;
        auto estimate = m_db.dialect().estimated_rows(session, dt.table_name());
        if (estimate && *estimate >= k_estimate_above) {
            probe_page();
            result.total =
                std::max(*estimate, query.offset + static_cast<long long>(result.items.size()));
            return result;
        }
    }
    result.items = m_repo.list(session, dt, query);
    result.total = m_repo.count(session, dt, query.filters);
    result.has_more = query.offset + static_cast<long long>(result.items.size()) < *result.total;
    return result;
}

} // namespace m::core
