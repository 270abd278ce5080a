// The field errors of one document: every check of the document service says where it failed (a
// field, or a field of a row of a table field), what kind of failure it is and the message. The
// CLI prints the messages; the HTTP API sends the structure as the error's `details`
// (docs/reference/http-api.md, "Errors"), so a form puts each one on its field without reading
// the English text.
#pragma once

#include "m/core/error.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace m::core {

/// What kind of check failed; the `code` member of a detail.
enum class FieldErrorCode {
    required,       ///< a required field is empty
    unknown_field,  ///< the document names a field its DocType does not have
    invalid,        ///< the value does not fit the field's type (coercion refused it)
    too_long,       ///< longer than max_length (140 for data, select and link)
    too_short,      ///< shorter than min_length
    pattern,        ///< does not match the field's pattern
    below_minimum,  ///< a number under min
    above_maximum,  ///< a number over max
    out_of_range,   ///< a decimal with more than 12 digits before the point
    link_not_found, ///< a link to a document that does not exist
    not_editable,   ///< a field that cannot change now (a submitted document)
    bad_row,        ///< a child row that is not an object, or whose id is not a UUID or repeats
    hook,           ///< a controller's hook refused the document
};

/// "required", "unknown_field", ...
const char* to_string(FieldErrorCode code) noexcept;

/// Where in a document: its own fields, or those of row `row` (from 1) of table field `table`.
struct FieldPath {
    std::string table;
    long long row = 0;

    static FieldPath document() { return {}; }
    static FieldPath row_of(std::string table, long long row) { return {std::move(table), row}; }
    /// "field 'items' row 2: " for a row, "" for the document.
    std::string prefix() const;
};

struct FieldError {
    std::string field; ///< the document's field; for an error in a row, the table field
    long long row = 0; ///< the row (from 1) of `field`, 0 when the error is not in a row
    std::string child; ///< the row's field at fault; empty for the row itself
    FieldErrorCode code = FieldErrorCode::invalid;
    /// What to show at the field: "0 is less than the minimum 1" (the location is in the members
    /// above, so a form does not parse it out of the text).
    std::string message;
    /// The whole text, for the error's message: "field 'items' row 2: field 'qty': 0 is less ..."
    std::string text;

    /// {"field","row","child","code","message"}; absent parts are null.
    nlohmann::json to_json() const;
};

/// The errors collected while checking one document; all are reported together.
class FieldErrors {
public:
    /// Records an error of field `field` (empty: the row or document itself) at `at`; `text` is
    /// the message without the row prefix ("field 'qty': 0 is less than the minimum 1").
    void add(const FieldPath& at, const std::string& field, FieldErrorCode code,
             const std::string& text);

    bool empty() const noexcept { return m_items.empty(); }
    const std::vector<FieldError>& items() const noexcept { return m_items; }

    /// Throws Error{validation}: "DocType '<doctype>': <messages joined by '; '>", with the
    /// list of FieldError::to_json() as details.
    [[noreturn]] void raise(const std::string& doctype) const;
    /// raise() if any error was recorded.
    void raise_if_any(const std::string& doctype) const {
        if (!empty()) raise(doctype);
    }

private:
    std::vector<FieldError> m_items;
};

/// An error a controller's hook throws to put its message on a field of the document (`row`
/// and `child` for a field of a child row): Error{validation} with the structured detail.
Error field_error(const std::string& field, const std::string& message, long long row = 0,
                  const std::string& child = {});

} // namespace m::core
