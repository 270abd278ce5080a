// DocType metadata (docs/reference/doctypes.md): the in-memory form of `doctype.json`.
//
// Metadata is the source of truth for the schema, the repository's SQL, validation and (later)
// the HTTP API. It is parsed and checked once at bootstrap (doctype_loader.hpp); afterwards it is
// immutable and shared read-only between threads.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace m::core {

enum class FieldType {
    data,
    text,
    int_,
    float_,
    decimal,
    check,
    date,
    datetime,
    time,
    uuid,
    json,
    select,
    link,
    table,
    password,
};

/// "data", "int", ... as written in doctype.json.
std::string_view to_string(FieldType type) noexcept;
/// Parses a type name; nullopt when unknown.
std::optional<FieldType> parse_field_type(std::string_view name) noexcept;
/// Every type name, for messages and scaffolding.
const std::vector<std::string>& field_type_names();

struct Field {
    std::string name;
    FieldType type = FieldType::data;
    std::string label;
    bool required = false;
    bool unique = false;
    nlohmann::json default_value; ///< null when absent
    std::string options;          ///< link/table: target DocType
    std::vector<std::string> select_options;
    bool read_only = false;
    bool hidden = false;
    bool in_list_view = false;
    bool allow_on_submit = false;
    std::string description;
    std::optional<double> min;
    std::optional<double> max;
    std::optional<int> min_length;
    std::optional<int> max_length;
    std::string pattern;
    std::optional<int> precision;
    bool standard = false; ///< one of the standard columns (id, name, owner, ...)

    /// Whether the field has a column in its DocType's table (every type but `table`).
    bool has_column() const noexcept { return type != FieldType::table; }
};

struct IndexDef {
    std::vector<std::string> fields;
    bool unique = false;
};

/// How a DocType names its documents (docs/reference/doctypes.md, "Naming"), parsed once when
/// the metadata is loaded.
struct NamingRule {
    enum class Kind { uuid, autoincrement, prompt, field, series };
    Kind kind = Kind::uuid;
    /// The field of `field:<field>`; the pattern of `series:<pattern>`; empty otherwise.
    std::string argument;

    /// "uuid", "autoincrement", "prompt", "field:<field>" or "series:<PREFIX>.#####"; throws
    /// Error{validation} for anything else (whether the field exists is the loader's check).
    static NamingRule parse(const std::string& text);
    /// The rule as written in doctype.json.
    std::string text() const;
};

struct DocType {
    std::string name;
    std::string label;
    std::string module;
    std::string app;         ///< the app that defines it
    std::string source_file; ///< doctype.json it came from, for messages
    NamingRule naming;
    bool is_submittable = false;
    bool is_child_table = false;
    bool is_single = false;
    bool track_changes = false;
    bool show_in_desk = true;
    bool api_resource = true;
    bool requires_auth = true;
    bool apply_rls = false;
    std::string rls_field = "owner";
    std::string title_field;
    std::string sort_field = "modified";
    std::string sort_order = "desc";
    std::vector<Field> fields; ///< as declared, without the standard fields
    std::map<std::string, std::vector<std::string>> permissions;
    std::vector<IndexDef> indexes;
    nlohmann::json ui_meta = nlohmann::json::object();

    /// The SQL table of this DocType: snake_case of the name ("Invoice Item" -> "invoice_item").
    std::string table_name() const;

    /// Standard columns followed by the declared fields that have a column.
    const std::vector<Field>& columns() const;

    /// A declared or standard field by name; nullptr when there is none.
    const Field* find(std::string_view field_name) const noexcept;

    /// Finalises derived data (the column list); called by the loader after parsing.
    void finalize();

private:
    std::vector<Field> m_columns;
};

/// Standard field names of every document, and the extra ones of child rows.
const std::vector<std::string>& standard_field_names();
const std::vector<std::string>& child_standard_field_names();

/// snake_case of a DocType name: "Invoice Item" -> "invoice_item", "ToDo" -> "to_do".
std::string snake_case(std::string_view name);

/// All DocTypes of the installed apps, by name. Immutable after loading; thread-safe to read.
class MetaRegistry {
public:
    /// Adds a DocType; throws Error{validation} on a duplicate name or table.
    void add(DocType doctype);

    /// Checks references between DocTypes (link and table targets exist, table targets are child
    /// tables). Throws Error{validation} naming the file and field.
    void check_references() const;

    /// The DocType or Error{not_found} ("unknown DocType 'Foo'").
    const DocType& get(std::string_view name) const;
    const DocType* find(std::string_view name) const noexcept;

    /// In load order.
    const std::vector<std::shared_ptr<const DocType>>& all() const noexcept { return m_order; }

private:
    std::vector<std::shared_ptr<const DocType>> m_order;
    std::map<std::string, std::shared_ptr<const DocType>, std::less<>> m_by_name;
    std::map<std::string, std::string> m_tables; ///< table name -> DocType name
};

} // namespace m::core
