// cardgate list: readers/slots, tokens, PIN state, certificates, keys, mechanisms.
#include "context.hpp"

#include <algorithm>
#include <iterator>

#include "pkcs11/token.hpp"

namespace cardgate::cli {

namespace {

std::string flags_text(const p11::TokenInfo& t) {
    std::string s;
    auto add = [&](bool on, const char* what) {
        if (!on) return;
        if (!s.empty()) s += ", ";
        s += what;
    };
    add(t.login_required(), "login required");
    add(t.protected_auth_path(), "PIN pad");
    add(t.pin_to_be_changed(), "PIN must be changed");
    return s;
}

Json object_json(const p11::ObjectInfo& obj) {
    Json j = {{"class", p11::class_name(obj.cls)}, {"id", obj.id_hex()}, {"label", obj.label}, {"uri", obj.uri}};
    if (obj.bits) j["bits"] = obj.bits;
    if (!obj.curve.empty()) j["curve"] = obj.curve;
    return j;
}

// One token: its objects and mechanisms, in human lines and JSON.
Json describe_token(const std::shared_ptr<p11::Module>& module, const p11::TokenInfo& t, Output& out) {
    const std::string pin = t.pin_state().empty() ? "ok" : t.pin_state();
    Json j = {{"label", t.label},        {"serial", t.serial},   {"manufacturer", t.manufacturer},
              {"model", t.model},        {"uri", t.uri()},       {"pin_state", pin},
              {"flags", flags_text(t)},  {"pin_length", {t.min_pin, t.max_pin}}};
    out.line("  token " + t.label + "  (serial " + t.serial + ", " + t.manufacturer + " " + t.model + ")");
    out.line("    uri       " + t.uri());
    out.line("    PIN       " + pin + (flags_text(t).empty() ? "" : "; " + flags_text(t)));

    auto session = p11::Session::open(module, t.slot);
    if (!session) {
        j["error"] = {{"code", name(session.code())}, {"message", session.error().message()}};
        out.line("    (cannot open a session: " + session.error().message() + ")");
        return j;
    }
    Json certs = Json::array(), keys = Json::array();
    if (auto objs = session->objects(p11::ObjectClass::certificate)) {
        for (const auto& obj : *objs) {
            Json c = object_json(obj);
            auto cert = Certificate::from_der(obj.value, obj.uri);
            if (cert) {
                c["subject"] = cert->subject();
                c["issuer"] = cert->issuer();
                c["serial"] = cert->serial_hex();
                c["key"] = cert->key_type();
                c["not_after"] = utc(cert->not_after());
                out.line("    cert  id " + obj.id_hex() + "  " + cert->subject());
                out.line("          issuer " + cert->issuer() + ", serial " + cert->serial_hex());
                out.line("          " + cert->key_type() + ", expires " + utc(cert->not_after()));
            } else {
                c["error"] = cert.error().message();
                out.line("    cert  id " + obj.id_hex() + "  (unparsable: " + cert.error().message() + ")");
            }
            out.line("          " + obj.uri);
            certs.push_back(c);
        }
    } else {
        j["error"] = {{"code", name(objs.code())}, {"message", objs.error().message()}};
        out.line("    (cannot list certificates: " + objs.error().message() + ")");
    }
    if (auto objs = session->objects(p11::ObjectClass::public_key)) {
        for (const auto& obj : *objs) {
            keys.push_back(object_json(obj));
            std::string kind = obj.curve.empty() ? "RSA-" + std::to_string(obj.bits) : "EC " + obj.curve;
            out.line("    key   id " + obj.id_hex() + "  public " + kind + "  " + obj.uri);
        }
    }
    out.line("    (private keys are visible after login: see cardgate prove)");
    Json mechs = Json::array();
    if (auto ms = session->mechanisms()) {
        // Humans see the mechanisms cardgate signs with (in its order of
        // preference); --json lists every signing mechanism.
        static constexpr CK_MECHANISM_TYPE used[] = {CKM_ECDSA, CKM_RSA_PKCS_PSS, CKM_RSA_PKCS, CKM_RSA_X_509};
        std::string line;
        std::size_t others = 0;
        for (CK_MECHANISM_TYPE u : used)
            for (const auto& m : *ms)
                if (m.type == u && m.can_sign()) line += (line.empty() ? "" : " ") + m.name;
        for (const auto& m : *ms) {
            if (!m.can_sign()) continue;
            mechs.push_back({{"name", m.name}, {"min_key", m.min_key}, {"max_key", m.max_key}});
            if (std::find(std::begin(used), std::end(used), m.type) == std::end(used)) ++others;
        }
        out.line("    signs with: " + (line.empty() ? std::string("(none cardgate can use)") : line) + "  (+" +
                 std::to_string(others) + " other signing mechanisms)");
    }
    j["certificates"] = certs;
    j["public_keys"] = keys;
    j["sign_mechanisms"] = mechs;
    return j;
}

}  // namespace

int cmd_list(const Options& o, Output& out) {
    if (o.args.size() > 1 || (o.args.size() == 1 && !o.args[0].starts_with("pkcs11:")))
        return out.fail(Error(Code::usage, "list takes at most one pkcs11: URI selecting tokens"));
    std::optional<p11::Uri> filter;
    if (!o.args.empty()) {
        auto u = uri_argument(o.args[0]);
        if (!u) return out.fail(u.error());
        filter = std::move(*u);
    }
    auto cfg = load_config(o);
    if (!cfg) return out.fail(cfg.error());
    auto module = load_module(o, *cfg, filter ? &*filter : nullptr);
    if (!module) return out.fail(module.error());
    const auto& mi = (*module)->info();
    out.line("module " + mi.path + "  (" + mi.manufacturer + ", " + mi.description + " " + mi.library_version() + ")");
    out.doc()["module"] = {{"path", mi.path}, {"manufacturer", mi.manufacturer},
                           {"description", mi.description}, {"version", mi.library_version()}};
    auto slots = (*module)->slots(false);
    if (!slots) return out.fail(slots.error());
    Json js = Json::array();
    std::size_t tokens = 0;
    for (const auto& s : *slots) {
        if (filter && !(s.token && filter->matches(*s.token))) continue;
        Json j = {{"id", s.id}, {"description", s.description}, {"manufacturer", s.manufacturer},
                  {"token_present", s.token_present}};
        out.line("slot " + std::to_string(s.id) + "  " + s.description + (s.token_present ? "" : "  (no token)"));
        if (s.token && !s.token->initialized()) {
            // SoftHSM and some cards expose a blank token: nothing to show or use.
            j["token"] = {{"initialized", false}};
            out.line("  (uninitialised token)");
        } else if (s.token) {
            j["token"] = describe_token(*module, *s.token, out);
            ++tokens;
        }
        js.push_back(j);
    }
    out.doc()["slots"] = js;
    if (tokens == 0) {
        out.line(filter ? "no token matches " + filter->to_string() : "no token present");
        return out.fail(Error(Code::p11_no_token, filter ? "no token of " + mi.path + " matches the URI"
                                                        : "no slot of " + mi.path + " holds a token"));
    }
    return out.finish(Code::ok);
}

}  // namespace cardgate::cli
