// pam_cardgate.so: badge login (SPEC "PAM module", pam_cardgate(8)).
//
// The module never touches a card: it starts cardgate-pam-helper with a
// clean environment on a socketpair, relays the helper's questions to the
// PAM conversation, and kills it when it stops answering for longer than
// token.timeout (plus token.wait_for_card before the first answer). It then
// turns the outcome into a PAM code (pam/codes.hpp), logs one audit line and,
// on success, sets PAM_USER (when it was not given) and the CARDGATE_*
// environment. The account check (pam_sm_acct_mgmt) is the helper's work too.
//
// So the module links nothing of libcardgate but the few files it compiles
// in (pam/local.mk): no OpenSSL, toml++ or shared libstdc++ to load and
// relocate into sshd for every login.
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.h"
#include "pam/codes.hpp"
#include "pam/protocol.hpp"
#include "src/config.hpp"  // default_config_path only: the config is the helper's to parse
#include "src/duration.hpp"
#include "src/files.hpp"
#include "src/text.hpp"

using namespace cardgate;
using namespace cardgate::pam;
using Json = nlohmann::json;

namespace {

// What a badge login leaves for the account check: the certificate (DER) and
// the account it logged in.
constexpr const char* data_cert = "cardgate-login";
struct LoginData {
    std::vector<std::uint8_t> der;
    std::string account;
};
// Set by a badge login whose badge says its PIN must be changed; the account
// check then answers PAM_NEW_AUTHTOK_REQD, and a PIN change clears it.
constexpr const char* data_pin_change = "cardgate-pin-change";
char pin_change_marker;
constexpr int grace_ms = 2000;

struct Args {
    std::string config = default_config_path;
    std::string helper = CARDGATE_HELPER;
    bool debug = false, use_first_pass = false, try_first_pass = false;
    std::optional<std::chrono::milliseconds> wait_for_card;
    std::vector<std::string> pass_env;
    std::string error;  // set when an argument is bad
};

Args parse_args(int argc, const char** argv) {
    Args a;
    for (int i = 0; i < argc; ++i) {
        const std::string_view s = argv[i];
        auto value = [&](std::string_view key) { return std::string(s.substr(key.size())); };
        if (s.starts_with("config=")) a.config = value("config=");
        else if (s.starts_with("helper=")) a.helper = value("helper=");
        else if (s == "debug") a.debug = true;
        else if (s == "use_first_pass") a.use_first_pass = true;
        else if (s == "try_first_pass") a.try_first_pass = true;
        else if (s.starts_with("wait_for_card=")) {
            auto d = parse_duration(value("wait_for_card="));
            if (!d) a.error = "wait_for_card: " + d.error().detail();
            else a.wait_for_card = *d;
        } else if (s.starts_with("pass_env=")) {
            std::string v = value("pass_env=");
            for (std::size_t p = 0; p <= v.size();) {
                const std::size_t c = std::min(v.find(',', p), v.size());
                if (c > p) a.pass_env.push_back(v.substr(p, c - p));
                p = c + 1;
            }
        } else if (a.error.empty()) {
            a.error = "unknown module argument \"" + std::string(s) + "\"";
        }
    }
    if (a.error.empty() && (a.config.empty() || a.config.front() != '/'))
        a.error = "config= must be an absolute path";
    if (a.error.empty() && (a.helper.empty() || a.helper.front() != '/')) a.error = "helper= must be an absolute path";
    return a;
}

std::string item(pam_handle_t* pamh, int type) {
    const void* v = nullptr;
    if (pam_get_item(pamh, type, &v) != PAM_SUCCESS || !v) return {};
    return static_cast<const char*>(v);
}

// Text for the audit line: no quotes, no control characters, bounded.
std::string clean(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 512)) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 || u == 0x7F || c == '"' ? '?' : c);
    }
    return out;
}

// Text from the helper shown to the person: a card chooses its own label,
// so control characters (a terminal escape, a line break) and bytes that are
// not UTF-8 become '?' before they reach a terminal or a greeter.
std::string printable(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size() && out.size() < 1024;) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7F) {
            out.push_back(static_cast<char>(c));
            ++i;
            continue;
        }
        const std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (n > 1 && i + n <= s.size() && valid_utf8(s.substr(i, n))) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out.push_back('?');
            ++i;
        }
    }
    return out;
}

struct Outcome {
    Code code = Code::internal;
    std::string detail;
    bool no_badge = false;
    Json fields = Json::object();
};

void audit(pam_handle_t* pamh, const Outcome& o, int rc, const std::string& user) {
    auto f = [&](const char* k) { return clean(o.fields.value(k, std::string())); };
    // No badge is the common case of every password login: informational.
    const int prio = rc == PAM_SUCCESS ? LOG_NOTICE : rc == PAM_AUTHINFO_UNAVAIL ? LOG_INFO : LOG_WARNING;
    pam_syslog(pamh, prio,
               "cardgate: outcome=%s purpose=login reason=%s user=\"%s\" service=\"%s\" rhost=\"%s\" "
               "token=\"%s\" token_serial=\"%s\" cert_issuer=\"%s\" cert_serial=%s cert_sha256=%s strength=%s detail=\"%s\"",
               rc == PAM_SUCCESS ? "granted" : rc == PAM_AUTHINFO_UNAVAIL ? "unavailable" : "denied",
               std::string(name(o.code)).c_str(), clean(user).c_str(),
               clean(item(pamh, PAM_SERVICE)).c_str(), clean(item(pamh, PAM_RHOST)).c_str(), f("token_label").c_str(),
               f("token_serial").c_str(),
               f("cert_issuer").c_str(), f("cert_serial").c_str(), f("cert_sha256").c_str(), f("strength").c_str(),
               clean(o.detail).c_str());
}

// A descriptor that becomes readable when the process `pid` exits (Linux >=
// 5.3), or -1. The system call itself: glibc 2.36's <sys/pidfd.h> declares
// pidfd_open without C linkage.
int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
    return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

class Helper {
public:
    ~Helper() { stop(); }

    Status start(const Args& a) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            return Error(Code::io, std::string("socketpair: ") + std::strerror(errno));
        fd_ = sv[0];
        std::vector<std::string> env{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
        // Only where the caller's environment is the service's own: never in a
        // setuid program (su, sudo), whose caller could set LD_PRELOAD.
        if (getauxval(AT_SECURE) == 0)
            for (const auto& n : a.pass_env)
                if (const char* v = getenv(n.c_str())) env.push_back(n + "=" + v);
        std::vector<char*> envp;
        for (auto& e : env) envp.push_back(e.data());
        envp.push_back(nullptr);
        std::string path = a.helper;
        char* argv[] = {path.data(), nullptr};

        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
        posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        const int rc = posix_spawn(&pid_, path.c_str(), &fa, &attr, argv, envp.data());
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close(sv[1]);
        if (rc != 0) {
            pid_ = -1;
            return Error(Code::io, "cannot start " + a.helper + ": " + std::strerror(rc));
        }
        return {};
    }

    int fd() const { return fd_; }

    // Kills the helper (if still running) and reaps it. Returns how it ended.
    // `exit_wait_ms`: how long a helper that has answered may take to exit by
    // itself (its exit handlers, a sanitizer's leak check) before the kill.
    std::string stop(int exit_wait_ms = 0) {
        std::string how;
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
        if (pid_ > 0) {
            if (const auto st = reap_within(exit_wait_ms)) {
                pid_ = -1;
                return WIFEXITED(*st) && WEXITSTATUS(*st) == 0 ? "" : "helper ended abnormally";
            }
            kill(pid_, SIGKILL);
            int st = 0;
            pid_t r;
            do r = waitpid(pid_, &st, 0);
            while (r < 0 && errno == EINTR);
            if (r == pid_ && WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
                how = "killed by signal " + std::to_string(WTERMSIG(st));
            else if (r == pid_ && WIFEXITED(st) && WEXITSTATUS(st) != 0)
                how = "exit status " + std::to_string(WEXITSTATUS(st));
            pid_ = -1;
        }
        return how;
    }

private:
    // The helper's wait status when it has ended within `ms` (it is reaped),
    // else nullopt. On its pidfd the module wakes the moment the helper exits;
    // without pidfds (an old kernel), waitpid(WNOHANG) every millisecond.
    std::optional<int> reap_within(int ms) const {
        using namespace std::chrono;
        if (ms <= 0) return std::nullopt;
        const auto deadline = steady_clock::now() + milliseconds(ms);
        int pidfd = open_pidfd(pid_);
        std::optional<int> status;
        for (;;) {
            int st = 0;
            const pid_t r = waitpid(pid_, &st, WNOHANG);
            if (r == pid_) {
                status = st;
                break;
            }
            const auto left = duration_cast<milliseconds>(deadline - steady_clock::now()).count();
            if (left <= 0 || (r < 0 && errno != EINTR)) break;
            if (pidfd < 0) {
                usleep(1000);
                continue;
            }
            pollfd p{pidfd, POLLIN, 0};
            if (poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) {  // then sleep instead
                close(pidfd);
                pidfd = -1;
            }
        }
        if (pidfd >= 0) close(pidfd);
        return status;
    }

    int fd_ = -1;
    pid_t pid_ = -1;
};

// Relays one question to the person; false when the helper cannot be told.
bool relay(pam_handle_t* pamh, const Received& f, int fd) {
    switch (f.type) {
    case Frame::info: pam_info(pamh, "%s", printable(f.text()).c_str()); return true;
    case Frame::error: pam_error(pamh, "%s", printable(f.text()).c_str()); return true;
    case Frame::progress: return true;
    case Frame::ask_secret: {
        char* resp = nullptr;
        const int rc = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", printable(f.text()).c_str());
        bool ok;
        if (rc != PAM_SUCCESS || !resp) {
            ok = write_frame(fd, Frame::cancel, "");
        } else {
            ok = write_frame(fd, Frame::secret, resp, std::strlen(resp));
        }
        if (resp) {
            explicit_bzero(resp, std::strlen(resp));
            free(resp);
        }
        return ok;
    }
    case Frame::ask_text: {
        char* resp = nullptr;
        const int rc = pam_prompt(pamh, PAM_PROMPT_ECHO_ON, &resp, "%s", printable(f.text()).c_str());
        // A name, not a secret; bounded so the helper reads a short frame.
        const bool ok = rc == PAM_SUCCESS && resp && std::strlen(resp) <= 256;
        const bool sent = ok ? write_frame(fd, Frame::answer, resp, std::strlen(resp)) : write_frame(fd, Frame::cancel, "");
        free(resp);
        return sent;
    }
    case Frame::choose: {
        Json j = Json::parse(f.text(), nullptr, false);
        if (j.is_discarded() || !j.contains("choices")) return write_frame(fd, Frame::cancel, "");
        pam_info(pamh, "%s", printable(j.value("title", std::string())).c_str());
        std::size_t n = 0;
        for (const auto& c : j["choices"])
            pam_info(pamh, "  %zu) %s", ++n, printable(c.is_string() ? c.get<std::string>() : std::string()).c_str());
        char* resp = nullptr;
        const int rc = pam_prompt(pamh, PAM_PROMPT_ECHO_ON, &resp, "Choose 1-%zu: ", n);
        std::size_t pick = 0;
        const bool ok = rc == PAM_SUCCESS && resp && std::strlen(resp) < 6 && std::strlen(resp) > 0 &&
                        std::strspn(resp, "0123456789") == std::strlen(resp) &&
                        (pick = std::stoul(resp)) >= 1 && pick <= n;
        free(resp);
        return ok ? write_frame(fd, Frame::choice, std::to_string(pick - 1)) : write_frame(fd, Frame::cancel, "");
    }
    default: return false;
    }
}

void free_login(pam_handle_t*, void* data, int) { delete static_cast<LoginData*>(data); }

// PAM_USER for the audit line. A name that is no account is not logged: it
// may be a PIN or password typed at the login prompt (login(1) logs such a
// name as UNKNOWN for the same reason, login.defs LOG_UNKFAIL_ENAB).
std::string loggable_user(const std::string& user) {
    if (user.empty()) return user;
    std::vector<char> buf(4096);
    passwd pw{};
    passwd* res = nullptr;
    while (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &res) == ERANGE && buf.size() < (1u << 20))
        buf.resize(buf.size() * 2);
    return res ? user : "(unknown)";
}

std::string to_hex(const std::vector<std::uint8_t>& bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const std::uint8_t b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0x0F]);
    }
    return out;
}

std::vector<std::uint8_t> from_hex(const std::string& h) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
    return out;
}

// Reads the helper's frames until its result: its limits frame sets the
// watchdog (token.timeout, plus the card wait before the first answer), its
// questions go to the person. The helper is stopped on every path.
Outcome converse(pam_handle_t* pamh, Helper& helper) {
    Outcome o;
    auto fail = [&](Code c, std::string d) {
        o.code = c;
        o.detail = std::move(d);
        return o;
    };
    // In milliseconds, clamped: durations may be up to 30 days, poll() takes an int.
    auto clamp = [](long long ms) { return static_cast<int>(std::clamp<long long>(ms, 0, 24LL * 24 * 3600 * 1000)); };
    long long timeout_ms = -1;  // unknown until the helper's limits frame
    long long net_ms = 0;       // revocation's network time, allowed until the first question
    bool asked = false;         // a question went to the person: validation is over
    int idle = startup_ms;
    for (;;) {
        auto f = read_frame(helper.fd(), idle);
        if (!f) {
            const bool timeout = f.code() == Code::p11_timeout;
            const std::string how = helper.stop();
            if (timeout)
                return fail(Code::p11_timeout, "the badge did not answer within " +
                                                   std::to_string(idle / 1000) + " s (card or reader hung)");
            return fail(Code::p11_device_error,
                        "the badge helper ended without an answer" + (how.empty() ? std::string() : " (" + how + ")"));
        }
        if (f->type == Frame::limits) {
            Json j = Json::parse(f->text(), nullptr, false);
            if (j.is_discarded() || !j.contains("timeout_ms")) {
                helper.stop();
                return fail(Code::internal, "malformed limits from the badge helper");
            }
            timeout_ms = j.value("timeout_ms", 10000LL);
            // Before the first question, certificates are being validated:
            // the revocation checks may wait on the network as long as the
            // helper says (trust.fetch_timeout per request), not only the card.
            net_ms = std::max(0LL, j.value("net_ms", 0LL));
            idle = clamp(timeout_ms + grace_ms + j.value("wait_ms", 0LL) + net_ms);
            continue;
        }
        if (f->type == Frame::ask_secret || f->type == Frame::choose || f->type == Frame::ask_text) asked = true;
        if (timeout_ms >= 0) idle = clamp(timeout_ms + grace_ms + (asked ? 0 : net_ms));
        if (f->type == Frame::result) {
            Json j = Json::parse(f->text(), nullptr, false);
            helper.stop(/*exit_wait_ms=*/2000);
            if (j.is_discarded()) return fail(Code::internal, "malformed result from the badge helper");
            const std::string code = j.value("code", std::string());
            o.code = Code::internal;
            for (int c = 0; c <= static_cast<int>(Code::io); ++c)
                if (name(static_cast<Code>(c)) == code) o.code = static_cast<Code>(c);
            o.detail = j.value("detail", std::string());
            o.no_badge = j.value("no_badge", false);
            o.fields = std::move(j);
            return o;
        }
        if (!relay(pamh, *f, helper.fd())) {
            helper.stop();
            return fail(Code::internal, "unexpected frame from the badge helper");
        }
    }
}

Outcome run(pam_handle_t* pamh, const Args& a, const std::optional<std::string>& user, bool change_pin = false) {
    Outcome o;
    auto fail = [&](Code c, std::string d) {
        o.code = c;
        o.detail = std::move(d);
        return o;
    };
    if (!a.error.empty()) return fail(Code::usage, a.error);
    // The config is the helper's to read (it reports its errors); the module
    // only needs the helper to be a file nobody else can replace.
    if (auto h = check_trusted_file(a.helper); !h) return fail(h.code(), "helper: " + h.error().detail());

    Json req = {{"config", a.config},
                {"user", user ? Json(*user) : Json(nullptr)},
                {"service", item(pamh, PAM_SERVICE)},
                {"host", [] {
                     char h[256] = {};
                     gethostname(h, sizeof h - 1);
                     return std::string(h);
                 }()},
                {"first_pass_only", a.use_first_pass},
                {"mode", change_pin ? "change_pin" : "login"}};
    if (a.wait_for_card) req["wait_for_card_ms"] = a.wait_for_card->count();
    const char* authtok = nullptr;
    if (!change_pin && (a.use_first_pass || a.try_first_pass)) {
        const void* v = nullptr;
        if (pam_get_item(pamh, PAM_AUTHTOK, &v) == PAM_SUCCESS && v) authtok = static_cast<const char*>(v);
        // A stack problem, not a refusal of the badge: let the stack go on.
        if (!authtok && a.use_first_pass)
            return fail(Code::config_missing, "use_first_pass: no PAM_AUTHTOK from an earlier module");
    }
    req["has_first_pass"] = authtok != nullptr;

    Helper helper;
    if (auto s = helper.start(a); !s) return fail(s.code(), s.error().detail());
    if (!write_frame(helper.fd(), Frame::request, req.dump()) ||
        (authtok && !write_frame(helper.fd(), Frame::first_pass, authtok, std::strlen(authtok))))
        return fail(Code::io, "the badge helper did not take the request (" + helper.stop() + ")");
    return converse(pamh, helper);
}

// The account check of pam_sm_acct_mgmt, by the helper: the certificate of
// this login (its DER) validated again for login and mapped again to `user`
// (the current PAM_USER). The outcome's fields carry
// "verdict" (true when the code is validation's answer, not an error),
// "not_after" and "warn_expiry_s".
Outcome run_account(pam_handle_t* pamh, const Args& a, const std::vector<std::uint8_t>& der, const std::string& user) {
    Outcome o;
    auto fail = [&](Code c, std::string d) {
        o.code = c;
        o.detail = std::move(d);
        return o;
    };
    if (auto h = check_trusted_file(a.helper); !h) return fail(h.code(), "helper: " + h.error().detail());
    const Json req = {{"config", a.config}, {"mode", "account"}, {"cert_der", to_hex(der)}, {"user", user}};
    Helper helper;
    if (auto s = helper.start(a); !s) return fail(s.code(), s.error().detail());
    if (!write_frame(helper.fd(), Frame::request, req.dump()))
        return fail(Code::io, "the badge helper did not take the request (" + helper.stop() + ")");
    return converse(pamh, helper);
}

}  // namespace

extern "C" {

PAM_EXTERN int pam_sm_authenticate(pam_handle_t* pamh, int, int argc, const char** argv) try {
    const Args a = parse_args(argc, argv);
    std::optional<std::string> user;
    if (std::string u = item(pamh, PAM_USER); !u.empty()) user = u;
    Outcome o = run(pamh, a, user);
    int rc = pam_code(o.code, o.no_badge);
    std::string account = o.fields.value("account", std::string());
    if (rc == PAM_SUCCESS) {
        // The helper mapped the certificate with PAM_USER when there was one;
        // check again here, so nothing the helper says can change the user.
        if (account.empty() || (user && *user != account)) {
            o.code = Code::map_other_user;
            o.detail = "the badge helper answered for another user";
            rc = PAM_AUTH_ERR;
        } else if (!user && pam_set_item(pamh, PAM_USER, account.c_str()) != PAM_SUCCESS) {
            o.code = Code::internal;
            o.detail = "cannot set PAM_USER";
            rc = PAM_SERVICE_ERR;
        }
    }
    if (rc == PAM_SUCCESS) {
        for (const auto& [var, key] : {std::pair{"CARDGATE_TOKEN_SERIAL", "token_serial"},
                                       std::pair{"CARDGATE_CERT_SHA256", "cert_sha256"},
                                       std::pair{"CARDGATE_CERT_ISSUER", "cert_issuer"},
                                       std::pair{"CARDGATE_CERT_SERIAL", "cert_serial"}}) {
            const std::string v = std::string(var) + "=" + clean(o.fields.value(key, std::string()));
            pam_putenv(pamh, v.c_str());
        }
        auto* login = new LoginData{from_hex(o.fields.value("cert_der", std::string())), account};
        if (pam_set_data(pamh, data_cert, login, free_login) != PAM_SUCCESS) delete login;
        if (o.fields.value("pin_change_required", false))
            (void)pam_set_data(pamh, data_pin_change, &pin_change_marker, nullptr);
    }
    // Without a PAM_USER the account is the mapping's (a certificate's), never typed.
    audit(pamh, o, rc, user ? loggable_user(*user) : account);
    if (a.debug) pam_syslog(pamh, LOG_DEBUG, "cardgate: pam code %d (%s)", rc, pam_strerror(pamh, rc));
    return rc;
} catch (...) {
    pam_syslog(pamh, LOG_ERR, "cardgate: internal error");
    return PAM_SERVICE_ERR;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t*, int, int, const char**) { return PAM_SUCCESS; }

// Account checks for a badge login: the certificate of this login is still
// valid and not revoked; warn when it expires within login.warn_expiry.
// For a login this module did not authenticate there is nothing to check.
// The helper validates (the module holds no OpenSSL); an error that is not a
// verdict on the certificate (config, trust files, helper) is PAM_SERVICE_ERR.
PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t* pamh, int, int argc, const char** argv) try {
    const void* data = nullptr;
    if (pam_get_data(pamh, data_cert, &data) != PAM_SUCCESS || !data) return PAM_IGNORE;
    const auto& login = *static_cast<const LoginData*>(data);
    const Args a = parse_args(argc, argv);
    if (!a.error.empty()) {
        pam_syslog(pamh, LOG_ERR, "cardgate: %s", a.error.c_str());
        return PAM_SERVICE_ERR;
    }
    // The application may have changed PAM_USER since the badge login
    // (pam_set_item between pam_authenticate and pam_acct_mgmt): the badge
    // vouched for the account it logged in, and only for that one. The new
    // name is not logged (it may be anything an application was told).
    if (item(pamh, PAM_USER) != login.account) {
        pam_syslog(pamh, LOG_WARNING,
                   "cardgate: account check: map_other_user: PAM_USER is no longer the account the badge logged in (\"%s\")",
                   clean(login.account).c_str());
        pam_error(pamh, "Your badge did not log in this account.");
        return PAM_PERM_DENIED;
    }
    const Outcome o = run_account(pamh, a, login.der, login.account);
    if (o.code != Code::ok && !o.fields.value("verdict", false)) {
        // The config, the trust files or the helper failed: not a verdict on the badge.
        pam_syslog(pamh, LOG_ERR, "cardgate: account check: %s: %s", std::string(name(o.code)).c_str(),
                   clean(o.detail).c_str());
        return PAM_SERVICE_ERR;
    }
    if (o.code != Code::ok) {
        pam_syslog(pamh, LOG_WARNING, "cardgate: account check: %s: %s", std::string(name(o.code)).c_str(),
                   clean(o.detail).c_str());
        pam_error(pamh, "Your badge certificate is no longer valid (%s).", std::string(describe(o.code)).c_str());
        return o.code == Code::cert_expired ? PAM_ACCT_EXPIRED : PAM_PERM_DENIED;
    }
    const long long not_after = o.fields.value("not_after", 0LL);
    if (not_after - static_cast<long long>(std::time(nullptr)) < o.fields.value("warn_expiry_s", 0LL)) {
        char when[32];
        std::tm tm{};
        const std::time_t t = static_cast<std::time_t>(not_after);
        gmtime_r(&t, &tm);
        std::strftime(when, sizeof when, "%Y-%m-%d", &tm);
        pam_info(pamh, "Your badge certificate expires on %s: ask for a new one.", when);
    }
    // An initial or expired badge PIN (CKF_USER_PIN_TO_BE_CHANGED): the
    // application runs the password stack next (pam_sm_chauthtok).
    const void* change = nullptr;
    if (pam_get_data(pamh, data_pin_change, &change) == PAM_SUCCESS && change) {
        pam_info(pamh, "Your badge PIN must be changed now.");
        return PAM_NEW_AUTHTOK_REQD;
    }
    return PAM_SUCCESS;
} catch (...) {
    return PAM_SERVICE_ERR;
}

// Changes the badge PIN, or unblocks a locked one with the PUK (password
// stack). PAM_PRELIM_CHECK needs nothing; the work is in PAM_UPDATE_AUTHTOK.
PAM_EXTERN int pam_sm_chauthtok(pam_handle_t* pamh, int flags, int argc, const char** argv) try {
    if (flags & PAM_PRELIM_CHECK) return PAM_SUCCESS;
    const Args a = parse_args(argc, argv);
    // Whose PIN: the helper changes it only on a badge whose certificate
    // validates for login and maps to PAM_USER, decided before any PIN or
    // PUK is asked (run_change_pin in src/login.hpp).
    std::optional<std::string> user;
    if (std::string u = item(pamh, PAM_USER); !u.empty()) user = u;
    Outcome o = run(pamh, a, user, /*change_pin=*/true);
    int rc = pam_code(o.code, o.no_badge);
    if (o.code == Code::p11_pin_incorrect) rc = PAM_AUTHTOK_RECOVERY_ERR;
    else if (o.code == Code::p11_pin_invalid || o.code == Code::login_cancelled) rc = PAM_AUTHTOK_ERR;
    // A badge that cannot log this user in (invalid, revoked, unmapped, or
    // another user's): pam_sm_chauthtok(3) has PAM_PERM_DENIED for that, not
    // PAM_AUTH_ERR.
    else if (rc == PAM_AUTH_ERR) rc = PAM_PERM_DENIED;
    // The helper names the account it checked; check again here, so nothing
    // it says can change another user's PIN.
    if (rc == PAM_SUCCESS && (!user || o.fields.value("account", std::string()) != *user)) {
        o.code = Code::map_other_user;
        o.detail = "the badge helper answered for another user";
        rc = PAM_PERM_DENIED;
    }
    if (rc == PAM_SUCCESS) (void)pam_set_data(pamh, data_pin_change, nullptr, nullptr);
    auto f = [&](const char* k) { return clean(o.fields.value(k, std::string())); };
    pam_syslog(pamh, rc == PAM_SUCCESS ? LOG_NOTICE : LOG_WARNING,
               "cardgate: outcome=%s purpose=pin-change reason=%s user=\"%s\" service=\"%s\" token=\"%s\" "
               "token_serial=\"%s\" cert_issuer=\"%s\" cert_serial=%s cert_sha256=%s detail=\"%s\"",
               rc == PAM_SUCCESS ? "changed" : "refused", std::string(name(o.code)).c_str(),
               clean(loggable_user(user.value_or(""))).c_str(), clean(item(pamh, PAM_SERVICE)).c_str(),
               f("token_label").c_str(), f("token_serial").c_str(), f("cert_issuer").c_str(), f("cert_serial").c_str(),
               f("cert_sha256").c_str(), clean(o.detail).c_str());
    return rc;
} catch (...) {
    return PAM_SERVICE_ERR;
}

// Sessions need nothing from a badge: both succeed (documented in pam_cardgate(8)).
PAM_EXTERN int pam_sm_open_session(pam_handle_t*, int, int, const char**) { return PAM_SUCCESS; }
PAM_EXTERN int pam_sm_close_session(pam_handle_t*, int, int, const char**) { return PAM_SUCCESS; }

}  // extern "C"
