// `m doc list|get|insert|update|delete|submit|cancel|versions|call`: documents from the shell,
// through the document service, so the same rules hold as over HTTP. The shell acts as the system
// (every permission, read_only fields settable, what it writes recorded as by Administrator);
// `--as USER` acts as that user instead, with their roles and row-level security, to try what a
// user may do. Writes run in one transaction per command: a bulk insert either lands completely
// or not at all.
#include "m/commands/command.hpp"
#include "m/core/accounts.hpp"
#include "m/core/document_service.hpp"
#include "m/core/error.hpp"
#include "m/core/interrupt.hpp"
#include "m/core/json_input.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <iterator>
#include <unistd.h>

namespace m::commands {

using core::Error;
using core::ErrorKind;
using core::Json;

namespace {

struct DocOptions {
    std::string as; ///< --as USER; empty = the system
    std::string doctype;
    std::string name;
    std::string data;
    std::string filters;
    std::string fields;
    std::string order_by;
    long long limit = 20;
    long long offset = 0;
    std::string count = "exact";
};

/// The DocType, after checking that its table exists and has every column of the metadata, so a
/// schema that lags behind doctype.json gets a hint instead of an SQL error.
const core::DocType& require_table(Runtime& rt, core::Session& s, const std::string& doctype) {
    const core::DocType& dt = rt.meta.get(doctype);
    auto live = rt.db().dialect().describe_table(s, dt.table_name());
    if (!live) {
        throw Error(
            ErrorKind::not_found,
            fmt::format("table of DocType '{}' does not exist yet; run `m migrate`", dt.name));
    }
    for (const auto& f : dt.columns()) {
        bool present = std::any_of(live->columns.begin(), live->columns.end(),
                                   [&](const core::ColumnInfo& c) { return c.name == f.name; });
        if (!present) {
            throw Error(ErrorKind::validation,
                        fmt::format("DocType '{}': field '{}' has no column in the database yet; "
                                    "run `m migrate`",
                                    dt.name, f.name));
        }
    }
    return dt;
}

/// What every `m doc` command opens: the runtime, a session, the DocType (its table checked),
/// the document service and the caller.
struct Shell {
    std::unique_ptr<Runtime> rt;
    std::unique_ptr<core::Session> session;
    const core::DocType* dt = nullptr;
    std::unique_ptr<core::DocumentService> docs;
    core::Principal who;

    Shell(const GlobalOptions& g, Needs needs, const DocOptions& o) : rt(bootstrap(g, needs)) {
        session = rt->db().session();
        dt = &require_table(*rt, *session, o.doctype);
        docs = std::make_unique<core::DocumentService>(rt->meta, rt->db(), &rt->controllers);
        docs->set_jobs(&rt->jobs, rt->queue);
        who = o.as.empty() ? core::Principal::system_user()
                           : core::user_principal(*docs, *session, o.as);
    }
};

std::string read_stdin() {
    if (isatty(STDIN_FILENO)) {
        throw Error(ErrorKind::validation, "no data: pass --data JSON or pipe JSON lines on stdin");
    }
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return text;
}

/// Documents from --data or stdin: one object, an array of objects, or JSON lines.
std::vector<Json> read_documents(const std::string& data) {
    std::string text = data.empty() ? read_stdin() : data;
    std::vector<Json> docs;
    core::check_json_nesting(text, data.empty() ? "stdin" : "--data");
    Json whole = Json::parse(text, nullptr, false);
    if (!whole.is_discarded()) {
        if (whole.is_array()) {
            for (auto& d : whole) docs.push_back(d);
        } else {
            docs.push_back(whole);
        }
        return docs;
    }
    if (!data.empty()) throw Error(ErrorKind::validation, "--data: malformed JSON");
    std::size_t start = 0;
    int lineno = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        start = end + 1;
        ++lineno;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        Json j = Json::parse(line, nullptr, false);
        if (j.is_discarded()) {
            throw Error(ErrorKind::validation,
                        fmt::format("stdin line {}: malformed JSON; nothing was inserted", lineno));
        }
        docs.push_back(std::move(j));
    }
    if (docs.empty()) throw Error(ErrorKind::validation, "no documents on stdin");
    return docs;
}

std::string cell(const Json& v) {
    if (v.is_null()) return "";
    if (v.is_string()) return v.get<std::string>();
    return v.dump();
}

void print_table(const std::vector<std::string>& columns, const std::vector<Json>& rows) {
    std::vector<std::size_t> width;
    for (const auto& c : columns) width.push_back(c.size());
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < columns.size(); ++i) {
            width[i] = std::max(
                width[i], std::min<std::size_t>(cell(r.value(columns[i], Json())).size(), 40));
        }
    }
    auto line = [&](auto get) {
        std::string out;
        for (std::size_t i = 0; i < columns.size(); ++i) {
            std::string v = get(i);
            if (v.size() > 40) v = v.substr(0, 37) + "...";
            out += fmt::format("{:<{}}", v, width[i]);
            if (i + 1 < columns.size()) out += "  ";
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();
        fmt::print("{}\n", out);
    };
    line([&](std::size_t i) { return columns[i]; });
    for (const auto& r : rows)
        line([&](std::size_t i) { return cell(r.value(columns[i], Json())); });
}

void doc_list(const GlobalOptions& g, Needs needs, const DocOptions& o) {
    Shell sh(g, needs, o);
    const core::DocType& dt = *sh.dt;
    core::ListQuery q;
    q.filters = core::parse_filters_text(dt, o.filters);
    q.fields = core::parse_fields(dt, o.fields);
    q.order_by = core::parse_order_by(dt, o.order_by);
    q.limit = o.limit;
    q.offset = o.offset;
    // CLI11 checked the word (IsMember below), so it parses.
    const core::CountMode mode = core::parse_count_mode(o.count).value_or(core::CountMode::exact);
    auto result = sh.docs->list(*sh.session, dt.name, q, sh.who, mode);
    if (g.json) {
        print_json(result.to_json());
        return;
    }
    std::vector<std::string> columns = q.fields;
    if (columns.empty()) {
        columns.push_back("name");
        for (const auto& f : dt.fields) {
            if (f.in_list_view && f.has_column() && f.type != core::FieldType::password) {
                columns.push_back(f.name);
            }
        }
        columns.push_back("modified");
    } else {
        columns.erase(std::remove(columns.begin(), columns.end(), "id"), columns.end());
    }
    print_table(columns, result.items);
    if (result.total) {
        fmt::print("({} of {})\n", result.items.size(), *result.total);
    } else {
        fmt::print("({} shown{})\n", result.items.size(),
                   result.has_more ? ", more available" : "");
    }
}

void doc_get(const GlobalOptions& g, Needs needs, const DocOptions& o) {
    Shell sh(g, needs, o);
    Json doc = sh.docs->get(*sh.session, sh.dt->name, o.name, sh.who);
    if (g.json)
        print_json(doc);
    else
        fmt::print("{}\n", doc.dump(2, ' ', false, Json::error_handler_t::replace));
}

void doc_insert(const GlobalOptions& g, Needs needs, const DocOptions& o) {
    auto docs = read_documents(o.data);
    Shell sh(g, needs, o);
    std::vector<Json> saved;
    saved.reserve(docs.size());
    {
        core::UnitOfWork uow(*sh.session);
        for (std::size_t i = 0; i < docs.size(); ++i) {
            core::throw_if_interrupted();
            try {
                saved.push_back(sh.docs->insert(*sh.session, sh.dt->name, docs[i], sh.who));
            } catch (const Error& e) {
                if (docs.size() == 1) throw;
                throw Error(e.kind(),
                            fmt::format("document {}: {}; nothing was inserted", i + 1, e.what()),
                            e.details());
            }
        }
        uow.commit();
    }
    for (const auto& doc : saved) {
        if (g.json)
            print_json(doc);
        else
            fmt::print("{}\n", doc.at("name").get<std::string>());
    }
}

void doc_update(const GlobalOptions& g, Needs needs, const DocOptions& o) {
    auto docs = read_documents(o.data);
    if (docs.size() != 1)
        throw Error(ErrorKind::validation, "update takes exactly one JSON object");
    Shell sh(g, needs, o);
    core::UnitOfWork uow(*sh.session);
    Json doc = sh.docs->update(*sh.session, sh.dt->name, o.name, docs[0], sh.who);
    uow.commit();
    if (g.json)
        print_json(doc);
    else
        fmt::print("Updated {} {}\n", sh.dt->name, doc.at("name").get<std::string>());
}

void doc_delete(const GlobalOptions& g, Needs needs, const DocOptions& o) {
    Shell sh(g, needs, o);
    core::UnitOfWork uow(*sh.session);
    sh.docs->remove(*sh.session, sh.dt->name, o.name, sh.who);
    uow.commit();
    if (g.json)
        print_json(Json{{"deleted", o.name}, {"doctype", sh.dt->name}});
    else
        fmt::print("Deleted {} {}\n", sh.dt->name, o.name);
}

/// submit or cancel: one transition in one transaction.
void doc_transition(const GlobalOptions& g, Needs needs, const DocOptions& o, bool submit) {
    Shell sh(g, needs, o);
    core::UnitOfWork uow(*sh.session);
    Json doc = submit ? sh.docs->submit(*sh.session, sh.dt->name, o.name, sh.who)
                      : sh.docs->cancel(*sh.session, sh.dt->name, o.name, sh.who);
    uow.commit();
    if (g.json)
        print_json(doc);
    else
        fmt::print("{} {} {}\n", submit ? "Submitted" : "Cancelled", sh.dt->name,
                   doc.at("name").get<std::string>());
}

void doc_versions(const GlobalOptions& g, Needs needs, const DocOptions& o) {
    Shell sh(g, needs, o);
    const core::DocType& dt = *sh.dt;
    if (!dt.track_changes) {
        throw Error(ErrorKind::validation,
                    fmt::format("DocType '{}' does not track changes (set \"track_changes\": true)",
                                dt.name));
    }
    auto versions = sh.docs->versions(*sh.session, dt.name, o.name, sh.who);
    if (g.json) {
        print_json(Json(versions));
        return;
    }
    if (versions.empty()) fmt::print("No changes recorded.\n");
    for (const auto& v : versions) {
        fmt::print("{}  {}\n", cell(v["creation"]), cell(v["owner"]));
        for (const auto& c : v["data"]["changed"]) {
            fmt::print("    {}: {} -> {}\n", cell(c[0]), c[1].dump(), c[2].dump());
        }
        for (const auto& r : v["data"]["added"]) {
            fmt::print("    {}: row added {}\n", cell(r[0]), r[1].dump());
        }
        for (const auto& r : v["data"]["removed"]) {
            fmt::print("    {}: row {} removed\n", cell(r[0]), cell(r[1]["idx"]));
        }
        for (const auto& r : v["data"]["row_changed"]) {
            for (const auto& c : r[2]) {
                fmt::print("    {} row {}: {}: {} -> {}\n", cell(r[0]), cell(r[1]), cell(c[0]),
                           c[1].dump(), c[2].dump());
            }
        }
    }
}

void doc_call(const GlobalOptions& g, Needs needs, const DocOptions& o, const std::string& method) {
    Json kwargs = Json::object();
    if (!o.data.empty()) {
        core::check_json_nesting(o.data, "--kwargs");
        kwargs = Json::parse(o.data, nullptr, false);
        if (kwargs.is_discarded() || !kwargs.is_object()) {
            throw Error(ErrorKind::validation, "--kwargs: expected a JSON object");
        }
    }
    Shell sh(g, needs, o);
    core::UnitOfWork uow(*sh.session);
    Json result = sh.docs->call(*sh.session, sh.dt->name, o.name, method, kwargs, sh.who);
    uow.commit();
    print_json(Json{{"result", result}});
}

} // namespace

void add_doc(CLI::App& cmd, const GlobalOptions& options, Needs needs) {
    cmd.require_subcommand(1);
    auto o = std::make_shared<DocOptions>();
    auto with_doctype = [o](CLI::App* app) {
        app->add_option("DOCTYPE", o->doctype, "DocType, e.g. Customer")->required();
        app->add_option("--as", o->as,
                        "Act as this user (their roles and row-level security) instead of the "
                        "system");
    };
    auto with_name = [o](CLI::App* app) {
        app->add_option("NAME", o->name, "Document name or id")->required();
    };

    auto* list = cmd.add_subcommand("list", "List documents");
    with_doctype(list);
    list->add_option("--filters", o->filters,
                     R"(JSON: [{"field":"f","operator":"gt","value":1}] or [["f",">",1]])");
    list->add_option("--fields", o->fields, "Comma-separated fields (default: all)");
    list->add_option("--order-by", o->order_by, "e.g. -modified,name");
    list->add_option("--limit", o->limit, "At most this many (1-100000)")
        ->check(CLI::Range(1LL, 100000LL));
    list->add_option("--offset", o->offset, "Skip this many")->check(CLI::NonNegativeNumber);
    list->add_option("--count", o->count, "exact | estimated | none")
        ->check(CLI::IsMember({"exact", "estimated", "none"}));
    list->callback([&options, needs, o] { doc_list(options, needs, *o); });

    auto* get = cmd.add_subcommand("get", "Print one document with its child rows");
    with_doctype(get);
    with_name(get);
    get->callback([&options, needs, o] { doc_get(options, needs, *o); });

    auto* insert = cmd.add_subcommand(
        "insert", "Insert from --data, or JSON lines on stdin (bulk, one transaction)");
    with_doctype(insert);
    insert->add_option("--data", o->data, "One document as JSON");
    insert->callback([&options, needs, o] { doc_insert(options, needs, *o); });

    auto* update = cmd.add_subcommand("update", "Change fields of a document (partial update)");
    with_doctype(update);
    with_name(update);
    update->add_option("--data", o->data, "Fields to change as JSON (or stdin)");
    update->callback([&options, needs, o] { doc_update(options, needs, *o); });

    auto* del = cmd.add_subcommand("delete", "Delete a document and its child rows");
    with_doctype(del);
    with_name(del);
    del->callback([&options, needs, o] { doc_delete(options, needs, *o); });

    auto* submit = cmd.add_subcommand("submit", "Submit a draft (docstatus 0 -> 1)");
    with_doctype(submit);
    with_name(submit);
    submit->callback([&options, needs, o] { doc_transition(options, needs, *o, true); });

    auto* cancel = cmd.add_subcommand("cancel", "Cancel a submitted document (docstatus 1 -> 2)");
    with_doctype(cancel);
    with_name(cancel);
    cancel->callback([&options, needs, o] { doc_transition(options, needs, *o, false); });

    auto* versions = cmd.add_subcommand("versions", "Show the recorded changes (track_changes)");
    with_doctype(versions);
    with_name(versions);
    versions->callback([&options, needs, o] { doc_versions(options, needs, *o); });

    auto* call = cmd.add_subcommand("call", "Run a callable controller method");
    with_doctype(call);
    with_name(call);
    auto method = std::make_shared<std::string>();
    call->add_option("METHOD", *method, "Method name")->required();
    call->add_option("--kwargs", o->data, "Arguments as a JSON object");
    call->callback([&options, needs, o, method] { doc_call(options, needs, *o, *method); });
}

} // namespace m::commands
