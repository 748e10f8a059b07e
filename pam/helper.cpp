// cardgate-pam-helper: the card work of a badge login, in its own process.
//
// pam_cardgate.so starts it with one socketpair as stdin and stdout and a clean
// environment, sends one request frame (and the PAM_AUTHTOK as a secret frame
// when use_first_pass / try_first_pass), relays the questions it asks to the
// PAM conversation and kills it when it stops answering. So the PKCS#11 module
// never runs inside sshd, gdm or sudo, and a hung or crashing card or module
// costs one helper process, not a login session.
//
// It also does pam_sm_acct_mgmt's check (mode "account"): the login's
// certificate validated again, so the module needs no OpenSSL.
//
// It runs with the caller's privileges (it is not setuid), dumps no core and
// cannot be ptraced by the user, since it holds the PIN for a moment.
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pam/protocol.hpp"
#include "src/accounts.hpp"
#include "src/clock.hpp"
#include "src/config.hpp"
#include "src/harden.hpp"
#include "src/login.hpp"
#include "src/x509.hpp"

using namespace cardgate;
using namespace cardgate::pam;
using Json = nlohmann::json;

namespace {

constexpr int in = 0, out = 1;

// The person, at the other end of the pipe.
class PipePerson final : public Person {
public:
    Result<std::optional<SecretBuffer>> ask_secret(const std::string& prompt) override {
        if (!write_frame(out, Frame::ask_secret, prompt)) return Error(Code::io, "module gone");
        auto r = CG_TRY(read_frame(in));
        if (r.type == Frame::cancel) return std::optional<SecretBuffer>();
        if (r.type != Frame::secret) return Error(Code::io, "unexpected frame");
        return std::optional<SecretBuffer>(std::move(r.payload));
    }
    Result<std::optional<std::string>> ask_text(const std::string& prompt) override {
        if (!write_frame(out, Frame::ask_text, prompt)) return Error(Code::io, "module gone");
        auto r = CG_TRY(read_frame(in));
        if (r.type == Frame::cancel) return std::optional<std::string>();
        if (r.type != Frame::answer) return Error(Code::io, "unexpected frame");
        return std::optional<std::string>(r.text());
    }
    void info(const std::string& text) override { (void)write_frame(out, Frame::info, text); }
    void error(const std::string& text) override { (void)write_frame(out, Frame::error, text); }
    Result<std::optional<std::size_t>> choose(const std::string& title, const std::vector<std::string>& choices) override {
        Json j = {{"title", title}, {"choices", choices}};
        if (!write_frame(out, Frame::choose, j.dump())) return Error(Code::io, "module gone");
        auto r = CG_TRY(read_frame(in));
        if (r.type == Frame::cancel) return std::optional<std::size_t>();
        if (r.type != Frame::choice) return Error(Code::io, "unexpected frame");
        const std::string t = r.text();
        if (t.empty() || t.size() > 6 || t.find_first_not_of("0123456789") != std::string::npos)
            return std::optional<std::size_t>();
        return std::optional<std::size_t>(std::stoul(t));
    }
    void progress() override { (void)write_frame(out, Frame::progress, ""); }
};

int send(const Json& j) {
    return write_frame(out, Frame::result, j.dump(-1, ' ', false, Json::error_handler_t::replace)) ? 0 : 1;
}

int send_result(const LoginOutcome& o) {
    return send({{"code", std::string(name(o.code))},
                 {"detail", o.detail},
                 {"no_badge", o.no_badge},
                 {"account", o.account},
                 {"token_label", o.token_label},
                 {"token_serial", o.token_serial},
                 {"cert_subject", o.cert_subject},
                 {"cert_issuer", o.cert_issuer},
                 {"cert_serial", o.cert_serial},
                 {"cert_sha256", o.cert_sha256},
                 {"cert_der", to_hex(o.cert_der)},
                 {"strength", o.strength},
                 {"source", o.source},
                 {"pin_change_required", o.pin_change_required}});
}

LoginOutcome failed(Code c, std::string detail) {
    LoginOutcome o;
    o.code = c;
    o.detail = std::move(detail);
    return o;
}

// Lowercase or uppercase hex, as the module sends the certificate; nullopt
// for anything else.
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view h) {
    auto nibble = [](char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    };
    if (h.size() % 2 != 0) return std::nullopt;
    std::vector<std::uint8_t> bytes;
    bytes.reserve(h.size() / 2);
    for (std::size_t i = 0; i < h.size(); i += 2) {
        const int hi = nibble(h[i]), lo = nibble(h[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        bytes.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
    }
    return bytes;
}

// The account check (pam_sm_acct_mgmt): the login's certificate validated
// again for login, as at login time, now. "verdict" says the code is the
// validation's answer (a refusal the module turns into PAM_PERM_DENIED or
// PAM_ACCT_EXPIRED) and not an error of the config or the trust files.
//
// Then the certificate is mapped again to `user`, the module's PAM_USER (which
// it has already compared with the account of the login): a certificate that
// no longer maps to the user is a refusal (verdict) like a revoked one
// (check_account in src/login.hpp).
int run_account(const Config& config, const std::vector<std::uint8_t>& der, const std::string& user,
                const Clock& clock) {
    NssAccounts accounts;
    auto v = check_account(config, der, user, accounts, clock);
    if (!v) return send({{"code", std::string(name(v.code()))}, {"detail", v.error().detail()}});
    const auto warn = std::chrono::duration_cast<std::chrono::seconds>(config.login.warn_expiry);
    return send({{"code", std::string(name(v->code))},
                 {"detail", v->detail},
                 {"verdict", true},
                 {"not_after", static_cast<long long>(v->not_after)},
                 {"warn_expiry_s", static_cast<long long>(warn.count())}});
}

}  // namespace

int main() {
    harden_process();
    mallopt(M_ARENA_MAX, 1);

    auto req_frame = read_frame(in, 10000);
    if (!req_frame || req_frame->type != Frame::request) return 2;
    LoginRequest req;
    std::string config_path, mode;
    std::vector<std::uint8_t> cert_der;  // mode account
    std::string account_user;            // mode account: PAM_USER now
    try {
        const Json j = Json::parse(req_frame->text());
        config_path = j.at("config").get<std::string>();
        mode = j.value("mode", std::string("login"));
        if (mode == "account") {
            auto der = from_hex(j.at("cert_der").get<std::string>());
            if (!der || der->empty()) throw std::invalid_argument("cert_der");
            cert_der = std::move(*der);
            account_user = j.at("user").get<std::string>();
        } else if (mode == "login" || mode == "change_pin") {
            if (j.contains("user") && !j["user"].is_null()) req.user = j["user"].get<std::string>();
            req.service = j.at("service").get<std::string>();
            req.host = j.at("host").get<std::string>();
            req.first_pass_only = j.value("first_pass_only", false);
            if (j.contains("wait_for_card_ms") && !j["wait_for_card_ms"].is_null())
                req.wait_for_card = std::chrono::milliseconds(j["wait_for_card_ms"].get<long long>());
            if (j.value("has_first_pass", false)) {
                auto fp = read_frame(in, 10000);
                if (!fp || fp->type != Frame::first_pass) return 2;
                req.first_pass = std::move(fp->payload);
            }
        } else {
            throw std::invalid_argument("mode");
        }
    } catch (const std::exception&) {
        return send_result(failed(Code::internal, "malformed request from the PAM module"));
    }

    try {
        auto config = Config::load(config_path);
        if (!config) return send_result(failed(config.code(), config.error().detail()));
        // The module's watchdog runs on these from now on; an account check
        // waits for no card.
        const auto wait = mode == "account" ? std::chrono::milliseconds(0)
                                            : req.wait_for_card.value_or(config->token.wait_for_card);
        // Revocation may ask the network before the first question: up to
        // trust.fetch_timeout per certificate and network source (four
        // certificates, OCSP and a CRL download each, at most).
        const bool network = config->trust.checks_ocsp() || (config->trust.checks_crl() && config->trust.fetch_crls);
        const auto net = network ? config->trust.fetch_timeout * 8 : std::chrono::milliseconds(0);
        const Json limits = {{"timeout_ms", config->token.timeout.count()}, {"wait_ms", wait.count()},
                             {"net_ms", net.count()}};
        if (!write_frame(out, Frame::limits, limits.dump())) return 1;
        SystemClock clock;
        if (mode == "account") return run_account(*config, cert_der, account_user, clock);
        PipePerson person;
        NssAccounts accounts;
        if (mode == "change_pin") return send_result(run_change_pin(*config, req, person, accounts, clock));
        return send_result(run_login(*config, req, person, accounts, clock));
    } catch (const std::exception& e) {
        return send_result(failed(Code::internal, e.what()));
    }
}
