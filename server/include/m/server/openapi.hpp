// The OpenAPI 3.1 document of a project, generated from its DocType metadata (GET /schema).
#pragma once

#include "m/core/doctype.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace m::server {

/// Every path of docs/reference/http-api.md ("Routes") for every DocType with `api_resource`
/// (list/create, get/update/delete, submit/cancel for submittable DocTypes, callable methods), the
/// meta, auth, stream, health and metrics paths, a component schema per DocType (fields with JSON
/// types, formats, enums, required, read-only standard fields, writeOnly password fields, child
/// tables as arrays of the child schema), the shared Error schema, and the bearer / X-API-Key
/// security schemes.
/// `methods` maps DocType → callable method names (may be empty; DocTypes that are not API
/// resources are skipped). Path keys are URLs, so DocType names are percent-encoded
/// (`/api/v1/Sales%20Invoice`); component schemas are named by the DocType without spaces
/// (`SalesInvoice`, plus `SalesInvoicePartial` and `SalesInvoiceList`), with `_2`, `_3`, ...
/// when a name is taken. Pure function of its arguments; thread-safe.
/// `include`, when given, keeps only the DocTypes it returns true for (a guest's document lists
/// only what a guest may use).
nlohmann::json openapi_document(const core::MetaRegistry& meta,
                                const std::map<std::string, std::vector<std::string>>& methods,
                                const std::string& version,
                                const std::function<bool(const core::DocType&)>& include = {});

} // namespace m::server
