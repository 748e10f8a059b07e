// cardgate pin change|unblock pkcs11:URI: the administrator's way to change or
// unblock a badge's PIN.
//
// The PAM password stack changes a PIN only on a badge that logs PAM_USER in
// (run_change_pin in src/login.hpp). Everything else (a badge handed back, a
// new badge, a badge whose certificate has expired or been revoked, a PIN
// locked on someone's leave) is an administrator's job at a terminal: this
// command, for root only, with no certificate checks. The PINs and the PUK are
// read from /dev/tty with echo off into SecretBuffers, never from argv or the
// environment, and one audit line goes to syslog (authpriv) without them.
#include <syslog.h>
#include <unistd.h>

#include "context.hpp"
#include "prompt.hpp"

namespace cardgate::cli {

namespace {

// Checked before the config, the module or a card is touched: a PUK try is
// not for anyone but root to spend, and the module is not for anyone else to
// load with root's config. Real and effective uid: a set-uid copy of this
// program is refused too (it would act for its caller).
Status require_root() {
    if (::getuid() == 0 && ::geteuid() == 0) return {};
    return Error(Code::admin_only,
                 "cardgate pin changes or unblocks any badge's PIN and is for root; to change your own badge PIN, "
                 "use passwd (pam_cardgate's password stack)");
}

// The one initialised token the URI selects (token, manufacturer, serial,
// model and slot attributes): p11_no_token when none, p11_ambiguous when several.
Result<p11::TokenInfo> one_token(const std::shared_ptr<p11::Module>& module, const p11::Uri& uri) {
    auto slots = CG_TRY(module->slots(true));
    std::vector<p11::TokenInfo> tokens;
    for (const auto& s : slots)
        if (s.token && s.token->initialized() && uri.matches(*s.token)) tokens.push_back(*s.token);
    if (tokens.empty()) return Error(Code::p11_no_token, "no badge present matches the URI");
    if (tokens.size() > 1) {
        std::string names;
        for (const auto& t : tokens) names += (names.empty() ? "" : ", ") + t.label + " (serial " + t.serial + ")";
        return Error(Code::p11_ambiguous, "the URI matches " + std::to_string(tokens.size()) + " badges: " + names);
    }
    return tokens.front();
}

// One secret from the terminal. prompt_pin's advice for a missing terminal
// (--pin-source) does not apply here: these secrets come from a person.
Result<SecretBuffer> ask(const std::string& prompt) {
    auto s = prompt_pin(prompt);
    if (!s && s.code() == Code::p11_pin_required && s.error().detail().starts_with("no terminal"))
        return Error(Code::p11_pin_required, "no terminal: cardgate pin asks for PINs on /dev/tty only");
    return s;
}

// The new PIN, asked twice; p11_pin_invalid when the answers differ.
Result<SecretBuffer> new_pin() {
    auto fresh = CG_TRY(ask("New PIN: "));
    auto again = CG_TRY(ask("Repeat new PIN: "));
    if (!fresh.equals(again)) return Error(Code::p11_pin_invalid, "the new PINs differ; nothing was changed");
    return fresh;
}

Status change_or_unblock(p11::Session& session, const p11::TokenInfo& t, bool unblock, Output& out) {
    if (!unblock && t.pin_locked())
        return Error(Code::p11_pin_locked, "the PIN of " + t.label + " is locked: use cardgate pin unblock");
    if (!t.pin_state().empty()) out.line("PIN state    " + t.pin_state());
    auto first = CG_TRY(ask((unblock ? "PUK for " : "Current PIN for ") + t.label + ": "));
    auto fresh = CG_TRY(new_pin());
    return unblock ? session.unblock_pin(first, fresh) : session.change_pin(first, fresh);
}

void audit(bool unblock, const p11::TokenInfo* t, const Status& done) {
    ::openlog("cardgate", LOG_PID, LOG_AUTHPRIV);
    ::syslog(done ? LOG_NOTICE : LOG_WARNING,
             "cardgate: outcome=%s purpose=pin-admin action=%s reason=%s uid=%u token_serial=\"%s\"",
             done ? "changed" : "refused", unblock ? "unblock" : "change",
             std::string(name(done ? Code::ok : done.code())).c_str(), static_cast<unsigned>(::getuid()),
             t ? t->serial.c_str() : "");
    ::closelog();
}

}  // namespace

int cmd_pin(const Options& o, Output& out) {
    if (o.args.size() != 2 || (o.args[0] != "change" && o.args[0] != "unblock") || !o.args[1].starts_with("pkcs11:"))
        return out.fail(Error(Code::usage, "pin takes change or unblock and one pkcs11: URI naming the badge"));
    const bool unblock = o.args[0] == "unblock";
    if (auto r = require_root(); !r) return out.fail(r.error());
    if (o.pin_source)
        return out.fail(Error(Code::usage, "pin asks for the PINs on the terminal; --pin-source is not taken"));
    auto cfg = load_config(o);
    if (!cfg) return out.fail(cfg.error());
    auto uri = uri_argument(o.args[1]);
    if (!uri) return out.fail(uri.error());
    auto module = load_module(o, *cfg, &*uri);
    if (!module) return out.fail(module.error());
    auto token = one_token(*module, *uri);
    if (!token) return out.fail(token.error());
    out.line("token        " + token->label + " (serial " + token->serial + ")");
    out.doc()["token"] = {{"label", token->label}, {"serial", token->serial}};

    auto session = p11::Session::open_rw(*module, token->slot);
    if (!session) return out.fail(session.error());
    // Fresh flags from the session: a PIN may have locked since the listing.
    auto info = session->token_info();
    if (!info) return out.fail(info.error());
    const Status done = change_or_unblock(*session, *info, unblock, out);
    audit(unblock, &*info, done);
    if (!done) return out.fail(done.error());
    out.doc()["action"] = unblock ? "unblocked" : "changed";
    out.line(unblock ? "PIN          unblocked and set" : "PIN          changed");
    return out.finish(Code::ok);
}

}  // namespace cardgate::cli
