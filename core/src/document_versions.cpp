// The version history of DocTypes with track_changes: one m_versions row per change, with the
// fields, rows added, removed and changed (docs/reference/doctypes.md, "Version history").
#include "m/core/document_service.hpp"

#include "document_internal.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace m::core {

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

} // namespace m::core
