// Errors of m: one exception type that carries a kind.
//
// Every layer throws m::core::Error; the kind decides how the three boundaries translate it
// (exit code in cli/main.cpp, HTTP status in the server's error handler, job failure in the
// worker). Messages name the thing at fault: "doctype 'ToDo': field 'status': ...".
#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace m::core {

/// What went wrong, independent of where it is reported.
enum class ErrorKind {
    validation,  ///< bad input: metadata, documents, filters, settings
    not_found,   ///< a DocType, document, file or project that does not exist
    permission,  ///< the caller may not do this
    conflict,    ///< duplicate unique value, stale `modified`, file already exists
    unavailable, ///< a service (database, broker) cannot be reached
    timeout,     ///< an operation ran out of time
    cancelled,   ///< the user interrupted the command (Ctrl-C)
    internal,    ///< a bug or an unexpected state
    // Added with the HTTP API; appended so the numeric values above stay stable (the PostgreSQL
    // module passes kinds across its C entry point as numbers).
    unauthenticated, ///< no, expired or invalid credentials (HTTP 401)
    too_large,       ///< a request body over the configured limit (HTTP 413)
    rate_limited,    ///< too many attempts; try again later (HTTP 429)
};

/// Name of a kind as used in logs and JSON ("validation", "not_found", ...).
const char* to_string(ErrorKind kind) noexcept;

/// The one exception type of m. `details` is optional structured data (for example the list of
/// field errors of a document) that machine output may include.
class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message, nlohmann::json details = nullptr)
        : std::runtime_error(message), m_kind(kind), m_details(std::move(details)) {}

    ErrorKind kind() const noexcept { return m_kind; }
    const nlohmann::json& details() const noexcept { return m_details; }

private:
    ErrorKind m_kind;
    nlohmann::json m_details;
};

} // namespace m::core
