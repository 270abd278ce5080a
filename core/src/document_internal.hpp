// What the units of the document service share (document_service.cpp: the operations;
// document_checks.cpp: building and checking values; document_naming.cpp; document_versions.cpp).
#pragma once

#include "m/core/doctype.hpp"
#include "m/core/error.hpp"
#include "m/core/values.hpp"

#include <fmt/format.h>

namespace m::core::detail {

/// null, "" and [] are empty: a required field needs something else.
bool is_empty_value(const Json& v);

/// The document with keys in metadata order: standard fields, then fields as declared (child
/// rows likewise), so every command prints documents the same way.
Json in_field_order(const MetaRegistry& meta, const DocType& dt, const Json& doc);

/// Runs one hook; its errors name the DocType and the hook, keeping their kind and details.
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

} // namespace m::core::detail
