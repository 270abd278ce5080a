// `m user create|set-password|apikey`: users of the built-in core app from the shell. Everything
// goes through the document service (passwords become Argon2id hashes there).
#include "m/commands/command.hpp"
#include "m/core/accounts.hpp"
#include "m/core/core_app.hpp"
#include "m/core/document_service.hpp"
#include "m/core/error.hpp"

#include <fmt/format.h>

#include <iostream>
#include <iterator>

namespace m::commands {

using core::Error;
using core::ErrorKind;
using core::Json;

namespace {

struct UserOptions {
    std::string email;
    std::vector<std::string> roles;
    std::string full_name;
    bool password_stdin = false;
    std::string label;
};

/// The password on stdin, without its final line break. Refuses what the policy refuses.
std::string read_password() {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
    try { // the document service checks it again, with the email
        core::check_password_policy(text, {});
    } catch (const Error& e) {
        throw Error(ErrorKind::validation, std::string("the password ") + e.what());
    }
    return text;
}

/// Creates the roles that do not exist yet (a fresh project has none).
void ensure_roles(core::Session& s, const core::DocumentService& docs,
                  const std::vector<std::string>& roles) {
    for (const auto& role : roles) {
        try {
            docs.get(s, std::string(core::k_role_doctype), role, core::Principal::system_user());
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::not_found) throw;
            docs.insert(s, std::string(core::k_role_doctype), Json{{"role_name", role}},
                        core::Principal::system_user());
            fmt::print(stderr, "created role {}\n", role);
        }
    }
}

void user_create(const GlobalOptions& options, Needs needs, const UserOptions& o) {
    std::string password = o.password_stdin ? read_password() : std::string();
    auto rt = bootstrap(options, needs);
    core::DocumentService docs(rt->meta, rt->db(), &rt->controllers);
    docs.set_jobs(&rt->jobs, rt->queue);
    auto session = rt->db().session();
    core::UnitOfWork uow(*session);
    ensure_roles(*session, docs, o.roles);
    Json doc = Json::object();
    doc["email"] = o.email;
    if (!o.full_name.empty()) doc["full_name"] = o.full_name;
    if (!password.empty()) doc["password"] = password;
    Json roles = Json::array();
    for (const auto& r : o.roles) roles.push_back(Json{{"role", r}});
    doc["roles"] = roles;
    Json saved = docs.insert(*session, std::string(core::k_user_doctype), doc,
                             core::Principal::system_user());
    uow.commit();
    if (options.json) {
        print_json(saved);
    } else {
        fmt::print("Created user {}{}\n", o.email,
                   password.empty() ? " (no password: log in with an API key)" : "");
    }
}

void user_set_password(const GlobalOptions& options, Needs needs, const UserOptions& o) {
    if (!o.password_stdin) {
        throw Error(ErrorKind::validation,
                    "give the new password on stdin with --password-stdin (never as an argument)");
    }
    std::string password = read_password();
    auto rt = bootstrap(options, needs);
    core::DocumentService docs(rt->meta, rt->db(), &rt->controllers);
    docs.set_jobs(&rt->jobs, rt->queue);
    auto session = rt->db().session();
    core::UnitOfWork uow(*session);
    docs.update(*session, std::string(core::k_user_doctype), o.email, Json{{"password", password}},
                core::Principal::system_user());
    uow.commit();
    if (!options.json) fmt::print("Password of {} changed\n", o.email);
}

void user_apikey(const GlobalOptions& options, Needs needs, const UserOptions& o) {
    auto rt = bootstrap(options, needs);
    auto session = rt->db().session();
    core::UnitOfWork uow(*session);
    core::DocumentService docs(rt->meta, rt->db(), &rt->controllers);
    docs.set_jobs(&rt->jobs, rt->queue);
    // not_found names the user
    docs.get(*session, std::string(core::k_user_doctype), o.email, core::Principal::system_user());
    core::ApiKeyParts key = core::new_api_key();
    Json row = Json::object();
    row["for_user"] = o.email;
    row["key_id"] = key.key_id;
    row["secret_hash"] = key.secret_hash;
    row["label"] = o.label;
    docs.insert(*session, std::string(core::k_api_key_doctype), row,
                core::Principal::system_user());
    uow.commit();
    if (options.json) {
        print_json(Json{{"user", o.email}, {"api_key", key.key}});
    } else {
        fmt::print("{}\n", key.key);
        fmt::print(stderr, "API key of {} (shown once; send it as the X-API-Key header)\n",
                   o.email);
    }
}

} // namespace

void add_user(CLI::App& cmd, const GlobalOptions& options, Needs needs) {
    cmd.require_subcommand(1);
    auto o = std::make_shared<UserOptions>();
    auto* create = cmd.add_subcommand("create", "Create a user (roles that do not exist yet are "
                                                "created)");
    create->add_option("EMAIL", o->email, "Email address (the user's name)")->required();
    create->add_option("--role", o->roles, "A role of the user (repeatable), e.g. Admin");
    create->add_option("--full-name", o->full_name, "Display name");
    create->add_flag("--password-stdin", o->password_stdin, "Read the password from stdin");
    create->callback([&options, needs, o] { user_create(options, needs, *o); });

    auto* set_password = cmd.add_subcommand("set-password", "Change a user's password");
    set_password->add_option("EMAIL", o->email, "The user")->required();
    set_password->add_flag("--password-stdin", o->password_stdin,
                           "Read the password from stdin (required)");
    set_password->callback([&options, needs, o] { user_set_password(options, needs, *o); });

    auto* apikey = cmd.add_subcommand("apikey", "Create an API key for a user and print it once");
    apikey->add_option("EMAIL", o->email, "The user")->required();
    apikey->add_option("--label", o->label, "What the key is for");
    apikey->callback([&options, needs, o] { user_apikey(options, needs, *o); });
}

} // namespace m::commands
