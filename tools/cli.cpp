#include "cli.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string_view>

namespace cardgate::cli {

std::string usage_text() {
    return "usage: cardgate [--config PATH] [--index-dir DIR] [--json] COMMAND [ARGS]\n"
           "\n"
           "commands:\n"
           "  list [--module PATH]                 readers, tokens, PIN state, certificates, keys, mechanisms\n"
           "  verify [--purpose P] CERT|pkcs11:URI  validation verdict, step by step (P: login, tls, door)\n"
           "  prove [--purpose P] [--pin-source file:PATH] pkcs11:URI\n"
           "                                       challenge-response against the card\n"
           "  map [--purpose P] [--user NAME] CERT|pkcs11:URI\n"
           "                                       which account a certificate maps to, by which rule or\n"
           "                                       binding, with strength, groups and privileges\n"
           "  check-config                         parse and check the configuration, rules and bindings\n"
           "  revocation status [--offline] CERT|pkcs11:URI\n"
           "                                       each chain certificate's revocation status: source, age\n"
           "  revocation refresh                   fetch CRLs and OCSP responses ahead of time (for a timer)\n"
           "  pin change pkcs11:URI                root only: change a badge's PIN (asked on the terminal)\n"
           "  pin unblock pkcs11:URI               root only: unblock a badge's PIN with its PUK, set a new one\n"
           "\n"
           "exit codes: 0 success, 1 denied or invalid, 2 usage or config error, 3 token/reader error,\n"
           "4 internal error. See cardgate(1).\n";
}

Result<Options> parse_options(int argc, char** argv) {
    Options o;
    auto need_value = [&](int& i, std::string_view name) -> Result<std::string> {
        if (i + 1 >= argc) return Error(Code::usage, std::string(name) + " needs a value");
        return std::string(argv[++i]);
    };
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        std::string value;
        // --opt=value form
        if (a.starts_with("--") && a.find('=') != std::string_view::npos) {
            value = std::string(a.substr(a.find('=') + 1));
            a = a.substr(0, a.find('='));
            if (a == "--json" || a == "--help" || a == "--offline") return Error(Code::usage, std::string(a) + " takes no value");
        } else if (a == "--config" || a == "--purpose" || a == "--pin-source" || a == "--module" || a == "--host" ||
                   a == "--user" || a == "--index-dir") {
            value = CG_TRY(need_value(i, a));
        }
        if (a == "--config") o.config_path = value;
        else if (a == "--purpose") o.purpose = value;
        else if (a == "--pin-source") o.pin_source = value;
        else if (a == "--module") o.module = value;
        else if (a == "--host") o.host = value;
        else if (a == "--user") o.user = value;
        else if (a == "--index-dir") o.index_dir = value;
        else if (a == "--json") o.json = true;
        else if (a == "--offline") o.offline = true;
        else if (a == "--help" || a == "-h") o.command = "help";
        else if (a == "--version") o.command = "version";
        else if (a == "--") {
            for (++i; i < argc; ++i) o.args.emplace_back(argv[i]);
        } else if (a.starts_with("-") && a.size() > 1) {
            return Error(Code::usage, "unknown option " + std::string(a));
        } else if (o.command.empty()) {
            o.command = a;
        } else {
            o.args.emplace_back(a);
        }
    }
    if (o.command.empty()) return Error(Code::usage, "no command given");
    return o;
}

std::string config_path(const Options& o) {
    if (o.config_path) return *o.config_path;
    if (const char* env = std::getenv("CARDGATE_CONF"); env && *env) return env;
    return "/etc/cardgate/cardgate.conf";
}

namespace {

// Text from a card (labels, serials, subjects) is attacker-chosen bytes: never
// let a control character or an invalid UTF-8 sequence reach a terminal,
// where escape sequences could rewrite what the person sees.
std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f) {
            out.push_back(static_cast<char>(c));
            ++i;
            continue;
        }
        std::size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
        bool ok = len != 0 && i + len <= s.size();
        for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
        if (ok) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            static const char digits[] = "0123456789abcdef";
            out += "\\x";
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 15]);
            ++i;
        }
    }
    return out;
}

}  // namespace

void Output::line(const std::string& s) const {
    if (!json_) std::cout << printable(s) << '\n';
}

int Output::finish(Code code) {
    last_ = code;
    if (json_) {
        doc_["ok"] = code == Code::ok;
        if (code != Code::ok && !doc_.contains("error")) doc_["error"] = {{"code", name(code)}, {"message", describe(code)}};
        // Invalid UTF-8 from a card becomes U+FFFD instead of an exception.
        std::cout << doc_.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
    }
    std::cout.flush();
    return exit_code(code);
}

int Output::fail(const Error& e) {
    if (json_) {
        doc_["error"] = {{"code", name(e.code())}, {"message", e.message()}};
    } else {
        std::cout.flush();
        std::cerr << "cardgate: " << printable(e.message()) << '\n';
    }
    return finish(e.code());
}

std::string hex(const std::vector<unsigned char>& v) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(v.size() * 2);
    for (unsigned char c : v) {
        s.push_back(digits[c >> 4]);
        s.push_back(digits[c & 15]);
    }
    return s;
}

}  // namespace cardgate::cli
