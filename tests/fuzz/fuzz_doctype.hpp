// The DocType the fuzz targets of filters and coercion work on: one field of every scalar type
// (scripts/fuzz.sh).
#pragma once

#include "m/core/doctype.hpp"
#include "m/core/doctype_loader.hpp"

#include <nlohmann/json.hpp>

inline const m::core::DocType& fuzz_doctype() {
    static const m::core::DocType dt = m::core::parse_doctype(nlohmann::json::parse(R"({
      "name": "Fuzz", "naming_rule": "uuid",
      "fields": [
        {"name": "title", "type": "data", "max_length": 40, "pattern": "^[A-Z].*"},
        {"name": "notes", "type": "text"},
        {"name": "qty", "type": "int", "min": 0, "max": 1000},
        {"name": "price", "type": "decimal", "precision": 2},
        {"name": "ratio", "type": "float"},
        {"name": "is_done", "type": "check"},
        {"name": "status", "type": "select", "options": ["Open", "Closed"]},
        {"name": "due_date", "type": "date"},
        {"name": "starts_at", "type": "datetime"},
        {"name": "at_time", "type": "time"},
        {"name": "extra_data", "type": "json"},
        {"name": "secret", "type": "password"},
        {"name": "other_fuzz", "type": "link", "options": "Fuzz"},
        {"name": "ref_id", "type": "uuid"}
      ]})"),
                                                              "<fuzz>", "fuzz");
    return dt;
}
