// The token layer against real SoftHSM tokens (the fixtures), directly and
// through the fault-injecting module faultp11.
//
// Every test works on a private copy of the fixture tokens (its own
// softhsm2.conf, its own faultp11 state file), so tests that change token
// state can run in parallel with anything. Tests that must time out run in a
// child process: an abandoned card call and a poisoned module must not leak
// into the next test, and a child that outlives its deadline is killed, so no
// test can hang.
#define BOOST_TEST_MODULE token
#include <boost/test/unit_test.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <sstream>
#include <string>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "pkcs11/ckr.hpp"
#include "pkcs11/module.hpp"
#include "pkcs11/token.hpp"
#include "pkcs11/uri.hpp"
#include "src/ossl.hpp"

namespace cardgate {
inline std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
inline std::ostream& operator<<(std::ostream& os, Hash h) { return os << hash_name(h); }
inline std::ostream& operator<<(std::ostream& os, SigScheme s) { return os << scheme_name(s); }
namespace p11 {
inline std::ostream& operator<<(std::ostream& os, ObjectClass c) { return os << class_name(c); }
}  // namespace p11
}  // namespace cardgate

using namespace cardgate;
using namespace cardgate::p11;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string env(const char* name, const char* fallback = "") {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

fs::path fixtures() { return env("CARDGATE_FIXTURES"); }

// Skip (exit 77) rather than fail obscurely when the fixtures were not generated.
struct RequireFixtures {
    RequireFixtures() {
        if (fixtures().empty() || !fs::exists(fixtures() / "softhsm2.conf")) {
            std::fprintf(stderr, "test_token: no fixtures at $CARDGATE_FIXTURES='%s' (run make check): SKIP\n",
                         fixtures().c_str());
            std::_Exit(77);
        }
        if (env("SOFTHSM2_MODULE").empty() || env("FAULTP11_MODULE").empty()) {
            std::fprintf(stderr, "test_token: SOFTHSM2_MODULE / FAULTP11_MODULE not set: SKIP\n");
            std::_Exit(77);
        }
    }
};
BOOST_TEST_GLOBAL_FIXTURE(RequireFixtures);

SecretBuffer fixture_pin() {
    std::ifstream in(fixtures() / "fixtures.env");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("PIN=", 0) == 0) return SecretBuffer::from(line.substr(4));
    return SecretBuffer::from("123456");
}

fs::path fixture_tokendir() {
    std::ifstream in(fixtures() / "softhsm2.conf");
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (line.rfind("directories.tokendir", 0) == 0 && eq != std::string::npos) {
            auto v = line.substr(eq + 1);
            v.erase(0, v.find_first_not_of(" \t"));
            v.erase(v.find_last_not_of(" \t\r") + 1);
            return v;
        }
    }
    return fixtures() / "tokens";
}

// A private copy of the fixture tokens, made current (SOFTHSM2_CONF) for the
// modules loaded while it lives; faults off unless a test sets them.
struct Tokens {
    fs::path dir;
    Tokens() {
        std::string tmpl = (fs::path(env("TMPDIR", "/tmp")) / "cardgate-token-XXXXXX").string();
        BOOST_TEST_REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
        fs::copy(fixture_tokendir(), dir / "tokens", fs::copy_options::recursive);
        std::ofstream(dir / "softhsm2.conf") << "directories.tokendir = " << (dir / "tokens").string()
                                             << "\nobjectstore.backend = file\nlog.level = ERROR\n";
        setenv("SOFTHSM2_CONF", (dir / "softhsm2.conf").c_str(), 1);
        setenv("FAULTP11_REAL", env("SOFTHSM2_MODULE").c_str(), 1);
        setenv("FAULTP11_STATE", (dir / "faultp11.state").c_str(), 1);
        unsetenv("FAULTP11_CONTROL");
        setenv("FAULTP11_FAULTS", "", 1);
        unsetenv("FAULTP11_PAD_PIN");
    }
    ~Tokens() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

std::shared_ptr<Module> load(const std::string& path, std::chrono::milliseconds timeout = 20s) {
    auto m = Module::load(path, timeout);
    BOOST_TEST_REQUIRE(m.ok(), (m.ok() ? "" : m.error().message()));
    return *m;
}
std::shared_ptr<Module> softhsm() { return load(env("SOFTHSM2_MODULE")); }
std::shared_ptr<Module> faulty(const std::string& faults, std::chrono::milliseconds timeout = 20s) {
    setenv("FAULTP11_FAULTS", faults.c_str(), 1);
    return load(env("FAULTP11_MODULE"), timeout);
}

TokenInfo token_named(const std::shared_ptr<Module>& m, const std::string& label) {
    auto slots = m->slots(true);
    BOOST_TEST_REQUIRE(slots.ok(), (slots.ok() ? "" : slots.error().message()));
    for (auto& s : *slots)
        if (s.token && s.token->label == label) return *s.token;
    BOOST_FAIL("no token labelled " << label);
    return {};
}

bool has_token(const std::string& label) {
    Tokens t;
    auto m = softhsm();
    auto slots = m->slots(true);
    if (!slots.ok()) return false;
    for (auto& s : *slots)
        if (s.token && s.token->label == label) return true;
    return false;
}

Session open(const std::shared_ptr<Module>& m, const std::string& label) {
    auto s = Session::open(m, token_named(m, label).slot);
    BOOST_TEST_REQUIRE(s.ok(), (s.ok() ? "" : s.error().message()));
    return std::move(*s);
}

template <class T>
T require(Result<T> r) {
    BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error().message()));
    return std::move(r).value();
}
void require(Status s) { BOOST_TEST_REQUIRE(s.ok(), (s.ok() ? "" : s.error().message())); }

ObjectInfo the_cert(Session& s) {
    auto certs = require(s.objects(ObjectClass::certificate));
    BOOST_TEST_REQUIRE(certs.size() == 1u);
    return certs.front();
}

// Session logged in, the certificate and its private key.
struct Credential {
    Session session;
    ObjectInfo cert, key;
};
Credential credential(const std::shared_ptr<Module>& m, const std::string& label) {
    auto s = open(m, label);
    auto pin = fixture_pin();
    require(s.login(&pin));
    auto cert = the_cert(s);
    auto key = require(s.find_private_key_for(cert));
    return Credential{std::move(s), std::move(cert), std::move(key)};
}

const EVP_MD* md_of(Hash h) {
    return h == Hash::sha256 ? EVP_sha256() : h == Hash::sha384 ? EVP_sha384() : EVP_sha512();
}

// Verifies with OpenSSL against the certificate's public key.
bool verifies(const ObjectInfo& cert, const Signature& sig, std::span<const std::uint8_t> data) {
    const unsigned char* p = cert.value.data();
    ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(cert.value.size())));
    if (!x) return false;
    EVP_PKEY* pk = X509_get0_pubkey(x.get());  // get0: borrowed
    ossl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    if (EVP_DigestVerifyInit(ctx.get(), &pctx, md_of(sig.hash), nullptr, pk) != 1) return false;
    if (sig.scheme == SigScheme::rsa_pss) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md_of(sig.hash)) != 1)
            return false;
    } else if (sig.scheme == SigScheme::rsa_pkcs1) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
    }
    return EVP_DigestVerify(ctx.get(), sig.bytes.data(), sig.bytes.size(), data.data(), data.size()) == 1;
}

const std::vector<std::uint8_t> kChallenge = {'c', 'a', 'r', 'd', 'g', 'a', 't', 'e', 0, 1, 2, 3, 0xff};

// Runs body in a child process with a hard deadline; body returns "" on
// success or what went wrong. Returns the child's report.
std::string in_child(const std::function<std::string()>& body, std::chrono::seconds deadline = 30s) {
    int fds[2];
    if (pipe(fds) != 0) return "pipe failed";
    pid_t pid = fork();
    if (pid < 0) return "fork failed";
    if (pid == 0) {
        close(fds[0]);
        std::string report;
        try {
            report = body();
        } catch (const std::exception& e) {
            report = std::string("exception: ") + e.what();
        } catch (...) {
            report = "exception";  // BOOST_TEST_REQUIRE failing in the child lands here
        }
        if (report.empty()) report = "OK";
        (void)!write(fds[1], report.data(), report.size());
        _exit(0);  // no static destructors: the abandoned worker may still be in the module
    }
    close(fds[1]);
    std::string report;
    auto until = std::chrono::steady_clock::now() + deadline;
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left <= 0ms) {
            kill(pid, SIGKILL);
            report = "child did not finish within its deadline (killed)";
            break;
        }
        pollfd pfd{fds[0], POLLIN, 0};
        if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
        char buf[512];
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        report.append(buf, static_cast<std::size_t>(n));
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return report == "OK" ? "" : (report.empty() ? "child died without a report" : report);
}

}  // namespace

// ------------------------------------------------------------------ modules

BOOST_AUTO_TEST_CASE(module_that_does_not_exist_is_p11_load) {
    auto m = Module::load("/nonexistent/pkcs11.so", 1s);
    BOOST_TEST(m.code() == Code::p11_load);
    BOOST_TEST(m.error().detail().find("/nonexistent/pkcs11.so") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(library_without_pkcs11_entry_point_is_p11_load) {
    auto m = Module::load("libm.so.6", 1s);
    BOOST_TEST(m.code() == Code::p11_load);
    BOOST_TEST(m.error().detail().find("no C_GetFunctionList") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_fault_name_makes_initialisation_fail_loudly) {
    Tokens t;
    setenv("FAULTP11_FAULTS", "hang_sing", 1);
    auto m = Module::load(env("FAULTP11_MODULE"), 5s);
    BOOST_TEST(m.code() == Code::p11_init);
    BOOST_TEST(m.error().detail().find("C_Initialize: CKR_ARGUMENTS_BAD") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(module_loaded_twice_shares_one_initialisation) {
    Tokens t;
    auto a = softhsm();
    auto b = softhsm();
    BOOST_TEST(a->functions() == b->functions());
    a.reset();  // must not finalise the library under b
    BOOST_TEST(require(b->slots(true)).size() >= 4u);
    BOOST_TEST(b->info().manufacturer == "SoftHSM");
}

BOOST_AUTO_TEST_CASE(return_values_have_names_and_catalogue_codes) {
    BOOST_TEST(ckr_name(CKR_PIN_INCORRECT) == "CKR_PIN_INCORRECT");
    BOOST_TEST(ckr_name(0x12345) == "CKR_0x00012345");
    BOOST_TEST(code_for(CKR_PIN_LEN_RANGE) == Code::p11_pin_invalid);
    BOOST_TEST(code_for(CKR_TOKEN_NOT_PRESENT) == Code::p11_device_removed);
    BOOST_TEST(code_for(CKR_DEVICE_MEMORY) == Code::p11_device_error);
    BOOST_TEST(code_for(CKR_GENERAL_ERROR) == Code::p11_function_failed);
    BOOST_TEST(ckr_error("C_Sign", CKR_GENERAL_ERROR).detail() == "C_Sign: CKR_GENERAL_ERROR");
    BOOST_TEST(mechanism_name(CKM_RSA_PKCS_PSS) == "CKM_RSA_PKCS_PSS");
    BOOST_TEST(mechanism_label(0x80001234UL) == "CKM_VENDOR_DEFINED+0x1234");
}

// ------------------------------------------------------------------ enumeration

BOOST_AUTO_TEST_CASE(slots_and_tokens_are_enumerated_with_their_flags) {
    Tokens t;
    auto m = softhsm();
    auto present = require(m->slots(true));
    auto all = require(m->slots(false));
    BOOST_TEST(all.size() >= present.size());  // SoftHSM adds one empty slot
    for (const char* label : {"alice-rsa2048", "alice-ec256", "alice-ec384", "bob"}) {
        BOOST_TEST_CONTEXT(label) {
            auto tok = token_named(m, label);
            BOOST_TEST(tok.login_required());
            BOOST_TEST(!tok.pin_locked());
            BOOST_TEST(!tok.protected_auth_path());
            BOOST_TEST(tok.pin_state() == "");
            BOOST_TEST(!tok.serial.empty());
            BOOST_TEST(tok.uri().rfind("pkcs11:token=" + std::string(label) + ";manufacturer=SoftHSM%20project;", 0) == 0);
            BOOST_TEST(tok.uri().find("serial=" + tok.serial) != std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(every_fixture_token_lists_without_error) {
    // including the "hostile" one, whatever it carries
    Tokens t;
    auto m = softhsm();
    for (auto& slot : require(m->slots(true))) {
        if (!slot.token->initialized()) continue;  // SoftHSM's spare blank token
        BOOST_TEST_CONTEXT(slot.token->label) {
            auto s = require(Session::open(m, slot.id));
            auto objects = s.objects();
            BOOST_TEST(objects.ok(), (objects.ok() ? "" : objects.error().message()));
            for (auto& o : objects.ok() ? *objects : std::vector<ObjectInfo>{})
                BOOST_TEST(Uri::parse(o.uri).ok(), o.uri);
        }
    }
}

BOOST_AUTO_TEST_CASE(certificates_and_keys_are_listed_with_uris) {
    Tokens t;
    auto m = softhsm();
    auto s = open(m, "alice-rsa2048");
    auto cert = the_cert(s);
    BOOST_TEST(cert.id_hex() == "01");
    BOOST_TEST(cert.label == "alice");
    BOOST_TEST(!cert.value.empty());
    BOOST_TEST(cert.key_type == CKK_RSA);
    BOOST_TEST(cert.bits == 2048u);
    BOOST_TEST(cert.uri.find("id=%01;object=alice;type=cert") != std::string::npos, cert.uri);
    BOOST_TEST(require(s.objects(ObjectClass::private_key)).empty());  // hidden until login
    auto pin = fixture_pin();
    require(s.login(&pin));
    auto keys = require(s.objects(ObjectClass::private_key));
    BOOST_TEST_REQUIRE(keys.size() == 1u);
    BOOST_TEST(keys[0].key_type == CKK_RSA);
    BOOST_TEST(keys[0].bits == 2048u);
    BOOST_TEST(keys[0].uri.find("id=%01;object=alice;type=private") != std::string::npos, keys[0].uri);

    auto ec = open(m, "alice-ec384");
    require(ec.login(&pin));
    auto eckey = require(ec.find_private_key_for(the_cert(ec)));
    BOOST_TEST(eckey.key_type == CKK_EC);
    BOOST_TEST(eckey.curve == "P-384");
    BOOST_TEST(eckey.bits == 384u);
    BOOST_TEST(default_hash(eckey) == Hash::sha384);
}

BOOST_AUTO_TEST_CASE(mechanisms_are_listed_with_sign_flags) {
    Tokens t;
    auto m = softhsm();
    auto s = open(m, "alice-rsa2048");
    auto mechs = require(s.mechanisms());
    bool pss = false;
    for (auto& mi : mechs)
        if (mi.type == CKM_RSA_PKCS_PSS) pss = mi.can_sign() && mi.name == "CKM_RSA_PKCS_PSS";
    BOOST_TEST(pss);
}

// ------------------------------------------------------------------ login

BOOST_AUTO_TEST_CASE(right_pin_logs_in_and_a_second_login_is_success) {
    Tokens t;
    auto m = softhsm();
    auto s = open(m, "alice-ec256");
    auto pin = fixture_pin();
    require(s.login(&pin));
    require(s.login(&pin));  // CKR_USER_ALREADY_LOGGED_IN
}

BOOST_AUTO_TEST_CASE(wrong_pin_is_p11_pin_incorrect) {
    Tokens t;
    auto m = softhsm();
    auto s = open(m, "alice-ec256");
    auto wrong = SecretBuffer::from("999999");
    auto r = s.login(&wrong);
    BOOST_TEST(r.code() == Code::p11_pin_incorrect);
    BOOST_TEST(r.error().detail().find("999999") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(empty_pin_is_refused_without_asking_the_card) {
    Tokens t;
    auto m = faulty("pin_counter");
    auto s = open(m, "alice-ec256");
    SecretBuffer empty;
    auto r = s.login(&empty);
    BOOST_TEST(r.code() == Code::p11_pin_invalid);
    BOOST_TEST(require(s.token_info()).pin_state() == "");  // no try was spent
}

BOOST_AUTO_TEST_CASE(no_pin_without_a_pin_pad_is_p11_pin_required) {
    Tokens t;
    auto m = softhsm();
    auto s = open(m, "alice-ec256");
    BOOST_TEST(s.login(nullptr).code() == Code::p11_pin_required);
}

BOOST_AUTO_TEST_CASE(pin_counter_goes_low_then_final_then_locked_and_locked_is_not_asked) {
    Tokens t;
    auto m = faulty("pin_counter");
    auto s = open(m, "alice-ec256");
    auto wrong = SecretBuffer::from("000000");
    auto r1 = s.login(&wrong);
    BOOST_TEST(r1.code() == Code::p11_pin_incorrect);
    BOOST_TEST(r1.error().detail() == "incorrect PIN; PIN count low");
    BOOST_TEST(require(s.token_info()).pin_count_low());
    auto r2 = s.login(&wrong);
    BOOST_TEST(r2.code() == Code::p11_pin_incorrect);
    BOOST_TEST(r2.error().detail() == "incorrect PIN; last try before the PIN locks");
    auto r3 = s.login(&wrong);
    BOOST_TEST(r3.code() == Code::p11_pin_locked);
    BOOST_TEST(r3.error().detail() == "incorrect PIN; the PIN is now locked");
    // Now even the right PIN is not sent: the token flags say locked.
    auto pin = fixture_pin();
    auto r4 = s.login(&pin);
    BOOST_TEST(r4.code() == Code::p11_pin_locked);
    BOOST_TEST(r4.error().detail().find("the card was not asked") != std::string::npos);
    // and the counter did not move (faultp11 would have answered CKR_PIN_LOCKED)
    BOOST_TEST(require(s.token_info()).pin_locked());
}

BOOST_AUTO_TEST_CASE(right_pin_before_locking_resets_the_counter) {
    Tokens t;
    auto m = faulty("pin_counter");
    auto s = open(m, "bob");
    auto wrong = SecretBuffer::from("000000");
    BOOST_TEST(s.login(&wrong).code() == Code::p11_pin_incorrect);
    auto pin = fixture_pin();
    require(s.login(&pin));
    BOOST_TEST(require(s.token_info()).pin_state() == "");
}

BOOST_AUTO_TEST_CASE(pin_pad_login_with_null_pin) {
    Tokens t;
    auto pin = fixture_pin();
    setenv("FAULTP11_PAD_PIN", std::string(reinterpret_cast<const char*>(pin.data()), pin.size()).c_str(), 1);
    auto m = faulty("pin_pad");
    auto s = open(m, "alice-ec256");
    BOOST_TEST(require(s.token_info()).protected_auth_path());
    require(s.login(nullptr));
    auto key = require(s.find_private_key_for(the_cert(s)));
    BOOST_TEST(verifies(the_cert(s), require(s.sign(key, kChallenge)), kChallenge));
}

// ------------------------------------------------------------------ signing

BOOST_AUTO_TEST_CASE(rsa2048_signs_pss_by_default_and_verifies) {
    Tokens t;
    auto c = credential(softhsm(), "alice-rsa2048");
    auto sig = require(c.session.sign(c.key, kChallenge));
    BOOST_TEST(sig.scheme == SigScheme::rsa_pss);
    BOOST_TEST(sig.hash == Hash::sha256);
    BOOST_TEST(sig.mechanism == CKM_RSA_PKCS_PSS);
    BOOST_TEST(sig.mechanism_name == "CKM_RSA_PKCS_PSS");
    BOOST_TEST(sig.bytes.size() == 256u);
    BOOST_TEST(verifies(c.cert, sig, kChallenge));
}

BOOST_AUTO_TEST_CASE(rsa2048_forced_pkcs1_signs_and_verifies) {
    Tokens t;
    auto c = credential(softhsm(), "alice-rsa2048");
    auto sig = require(c.session.sign(c.key, kChallenge, Hash::sha384, SigScheme::rsa_pkcs1));
    BOOST_TEST(sig.scheme == SigScheme::rsa_pkcs1);
    BOOST_TEST(sig.mechanism == CKM_RSA_PKCS);
    BOOST_TEST(verifies(c.cert, sig, kChallenge));
}

BOOST_AUTO_TEST_CASE(rsa4096_signs_and_verifies) {
    if (!has_token("alice-rsa4096")) return;  // older fixture sets
    Tokens t;
    auto c = credential(softhsm(), "alice-rsa4096");
    BOOST_TEST(c.key.bits == 4096u);
    auto sig = require(c.session.sign(c.key, kChallenge));
    BOOST_TEST(sig.bytes.size() == 512u);
    BOOST_TEST(verifies(c.cert, sig, kChallenge));
}

BOOST_AUTO_TEST_CASE(without_pss_rsa_falls_back_to_rsa_pkcs_with_our_digest_info) {
    Tokens t;
    auto c = credential(faulty("no_pss"), "alice-rsa2048");
    auto sig = require(c.session.sign(c.key, kChallenge));
    BOOST_TEST(sig.mechanism == CKM_RSA_PKCS);
    BOOST_TEST(sig.scheme == SigScheme::rsa_pkcs1);
    BOOST_TEST(verifies(c.cert, sig, kChallenge));
    // PSS can still be had when forced: encoded here, sent through CKM_RSA_X_509
    auto pss = require(c.session.sign(c.key, kChallenge, std::nullopt, SigScheme::rsa_pss));
    BOOST_TEST(pss.mechanism == CKM_RSA_X_509);
    BOOST_TEST(verifies(c.cert, pss, kChallenge));
}

BOOST_AUTO_TEST_CASE(only_raw_rsa_falls_back_to_x509_with_our_pkcs1_block) {
    Tokens t;
    auto c = credential(faulty("only_x509"), "alice-rsa2048");
    auto sig = require(c.session.sign(c.key, kChallenge));
    BOOST_TEST(sig.mechanism == CKM_RSA_X_509);
    BOOST_TEST(sig.scheme == SigScheme::rsa_pkcs1);
    BOOST_TEST(verifies(c.cert, sig, kChallenge));
}

BOOST_AUTO_TEST_CASE(only_raw_rsa_can_still_sign_pss_when_forced) {
    Tokens t;
    auto c = credential(faulty("only_x509"), "alice-rsa2048");
    for (Hash h : {Hash::sha256, Hash::sha384, Hash::sha512}) {
        auto sig = require(c.session.sign(c.key, kChallenge, h, SigScheme::rsa_pss));
        BOOST_TEST(sig.mechanism == CKM_RSA_X_509);
        BOOST_TEST(sig.scheme == SigScheme::rsa_pss);
        BOOST_TEST(verifies(c.cert, sig, kChallenge));
    }
}

BOOST_AUTO_TEST_CASE(p256_signs_ecdsa_in_der_and_verifies) {
    Tokens t;
    auto c = credential(softhsm(), "alice-ec256");
    BOOST_TEST(c.key.curve == "P-256");
    auto sig = require(c.session.sign(c.key, kChallenge));
    BOOST_TEST(sig.scheme == SigScheme::ecdsa);
    BOOST_TEST(sig.hash == Hash::sha256);
    BOOST_TEST(sig.mechanism_name == "CKM_ECDSA");
    BOOST_TEST(sig.bytes.at(0) == 0x30);  // DER SEQUENCE, not raw r|s
    BOOST_TEST(verifies(c.cert, sig, kChallenge));
}

BOOST_AUTO_TEST_CASE(p384_signs_with_sha384_and_verifies) {
    Tokens t;
    auto c = credential(softhsm(), "alice-ec384");
    auto sig = require(c.session.sign(c.key, kChallenge));
    BOOST_TEST(sig.hash == Hash::sha384);
    BOOST_TEST(verifies(c.cert, sig, kChallenge));
}

BOOST_AUTO_TEST_CASE(wrong_scheme_for_the_key_is_p11_mechanism) {
    Tokens t;
    auto c = credential(softhsm(), "alice-ec256");
    BOOST_TEST(c.session.sign(c.key, kChallenge, std::nullopt, SigScheme::rsa_pss).code() == Code::p11_mechanism);
    auto r = credential(softhsm(), "alice-rsa2048");
    BOOST_TEST(r.session.sign(r.key, kChallenge, std::nullopt, SigScheme::ecdsa).code() == Code::p11_mechanism);
}

BOOST_AUTO_TEST_CASE(digest_of_the_wrong_length_is_refused) {
    Tokens t;
    auto c = credential(softhsm(), "alice-ec256");
    std::vector<std::uint8_t> short_digest(20);
    BOOST_TEST(!c.session.sign_digest(c.key, Hash::sha256, short_digest).ok());
}

BOOST_AUTO_TEST_CASE(copied_certificate_with_another_key_does_not_verify) {
    if (!has_token("copied")) return;
    Tokens t;
    auto c = credential(softhsm(), "copied");
    auto sig = require(c.session.sign(c.key, kChallenge));
    BOOST_TEST(!verifies(c.cert, sig, kChallenge));
}

// ------------------------------------------------------------------ faults

BOOST_AUTO_TEST_CASE(hung_sign_is_cut_off_with_p11_timeout_and_poisons_the_module) {
    auto report = in_child([]() -> std::string {
        Tokens t;
        // Log in under a generous bound (a loaded machine may be slow), then sign
        // through a second Module of the same library with the short one: login
        // state belongs to the library, not to the Module.
        auto c = credential(faulty("hang_sign"), "alice-ec256");
        auto fast = load(env("FAULTP11_MODULE"), 300ms);
        auto s = require(Session::open(fast, c.session.slot()));
        auto start = std::chrono::steady_clock::now();
        auto r = s.sign(c.key, kChallenge);
        auto took = std::chrono::steady_clock::now() - start;
        if (r.code() != Code::p11_timeout) return "expected p11_timeout, got " + std::string(name(r.code()));
        if (r.error().detail() != "C_Sign did not answer within 300ms") return "detail: " + r.error().detail();
        if (took > 3s) return "took too long";
        if (!s.module()->poisoned()) return "module not poisoned";
        // Later calls fail fast instead of queueing behind the hung one.
        start = std::chrono::steady_clock::now();
        auto again = c.session.token_info();
        if (again.code() != Code::p11_timeout) return "second call: " + std::string(name(again.code()));
        if (std::chrono::steady_clock::now() - start > 100ms) return "second call did not fail fast";
        return "";
    });
    BOOST_TEST(report == "");
}

BOOST_AUTO_TEST_CASE(slow_sign_within_the_timeout_succeeds) {
    Tokens t;
    auto c = credential(faulty("slow_sign=200", 5s), "alice-ec256");
    BOOST_TEST(verifies(c.cert, require(c.session.sign(c.key, kChallenge)), kChallenge));
}

BOOST_AUTO_TEST_CASE(slow_sign_beyond_the_timeout_is_p11_timeout) {
    auto report = in_child([]() -> std::string {
        Tokens t;
        auto c = credential(faulty("slow_sign=2000"), "alice-ec256");
        auto fast = load(env("FAULTP11_MODULE"), 200ms);
        auto r = require(Session::open(fast, c.session.slot())).sign(c.key, kChallenge);
        return r.code() == Code::p11_timeout ? "" : "got " + std::string(name(r.code()));
    });
    BOOST_TEST(report == "");
}

BOOST_AUTO_TEST_CASE(removed_during_sign_is_p11_device_removed) {
    Tokens t;
    auto c = credential(faulty("removed_sign"), "alice-ec256");
    auto r = c.session.sign(c.key, kChallenge);
    BOOST_TEST(r.code() == Code::p11_device_removed);
    BOOST_TEST(r.error().detail() == "C_Sign: CKR_DEVICE_REMOVED");
}

BOOST_AUTO_TEST_CASE(removed_after_login_fails_every_later_call_as_removed) {
    Tokens t;
    auto m = faulty("removed_after_login");
    auto s = open(m, "alice-rsa2048");
    auto pin = fixture_pin();
    require(s.login(&pin));
    BOOST_TEST(s.objects(ObjectClass::private_key).code() == Code::p11_device_removed);
    BOOST_TEST(s.token_info().code() == Code::p11_device_removed);
    BOOST_TEST(m->slots(true).code() == Code::p11_device_removed);
}

BOOST_AUTO_TEST_CASE(corrupted_signature_does_not_verify) {
    Tokens t;
    for (const char* label : {"alice-rsa2048", "alice-ec256"}) {
        auto c = credential(faulty("corrupt_sign"), label);
        auto sig = require(c.session.sign(c.key, kChallenge));
        BOOST_TEST(!verifies(c.cert, sig, kChallenge), label);
    }
}

BOOST_AUTO_TEST_CASE(hidden_keys_make_find_private_key_for_p11_no_object) {
    Tokens t;
    auto m = faulty("hide_keys");
    auto s = open(m, "alice-rsa2048");
    auto pin = fixture_pin();
    require(s.login(&pin));
    auto r = s.find_private_key_for(the_cert(s));
    BOOST_TEST(r.code() == Code::p11_no_object);
    BOOST_TEST(r.error().detail() == "no private key with id 01");
}

BOOST_AUTO_TEST_CASE(fault_control_file_is_read_at_each_call) {
    Tokens t;
    auto control = t.dir / "faults";
    std::ofstream(control) << "";
    setenv("FAULTP11_CONTROL", control.c_str(), 1);
    auto m = load(env("FAULTP11_MODULE"));
    auto c = credential(m, "alice-ec256");
    require(c.session.sign(c.key, kChallenge));
    std::ofstream(control) << "removed_sign\n";
    BOOST_TEST(c.session.sign(c.key, kChallenge).code() == Code::p11_device_removed);
    std::ofstream(control) << "";
    auto c2 = credential(m, "alice-ec256");  // fresh session: the failed one may keep its operation
    require(c2.session.sign(c2.key, kChallenge));
}

// ------------------------------------------------------------------ URIs

BOOST_AUTO_TEST_CASE(uri_locates_one_certificate_and_its_key) {
    Tokens t;
    auto m = softhsm();
    auto uri = require(Uri::parse("pkcs11:token=alice-ec256;object=alice;type=cert"));
    auto cert = require(locate_certificate(m, uri));
    BOOST_TEST(cert.token.label == "alice-ec256");
    BOOST_TEST(cert.object.cls == ObjectClass::certificate);
    auto pin = fixture_pin();
    auto key = require(locate_private_key(m, uri, &pin));
    BOOST_TEST(key.object.cls == ObjectClass::private_key);
    BOOST_TEST(key.object.id == cert.object.id);
    auto sig = require(key.session.sign(key.object, kChallenge));
    BOOST_TEST(verifies(cert.object, sig, kChallenge));
    // a listed object's own URI finds it again
    auto again = require(locate_certificate(m, require(Uri::parse(cert.object.uri))));
    BOOST_TEST(again.object.uri == cert.object.uri);
}

BOOST_AUTO_TEST_CASE(uri_pin_value_is_used_for_the_key) {
    Tokens t;
    auto m = softhsm();
    auto pin = fixture_pin();
    auto text = "pkcs11:token=bob;id=%01?pin-value=" + std::string(reinterpret_cast<const char*>(pin.data()), pin.size());
    auto key = require(locate_private_key(m, require(Uri::parse(text)), nullptr));
    BOOST_TEST(key.token.label == "bob");
    BOOST_TEST(key.object.cls == ObjectClass::private_key);
}

BOOST_AUTO_TEST_CASE(uri_errors_are_no_token_no_object_and_ambiguous) {
    Tokens t;
    auto m = softhsm();
    BOOST_TEST(locate_certificate(m, require(Uri::parse("pkcs11:token=nobody"))).code() == Code::p11_no_token);
    BOOST_TEST(locate_certificate(m, require(Uri::parse("pkcs11:token=alice-ec256;id=%02"))).code() ==
               Code::p11_no_object);
    BOOST_TEST(locate_certificate(m, require(Uri::parse("pkcs11:library-manufacturer=Nobody"))).code() ==
               Code::p11_no_token);
    auto many = locate_certificate(m, require(Uri::parse("pkcs11:object=alice")));
    BOOST_TEST(many.code() == Code::p11_ambiguous);
    BOOST_TEST(many.error().detail().find("alice-ec256") != std::string::npos);
    // A PIN is never tried on several tokens.
    auto pin = fixture_pin();
    BOOST_TEST(locate_private_key(m, require(Uri::parse("pkcs11:object=alice")), &pin).code() == Code::p11_ambiguous);
    BOOST_TEST(locate_private_key(m, require(Uri::parse("pkcs11:token=alice-ec256;type=data")), &pin).code() ==
               Code::p11_no_object);
}

BOOST_AUTO_TEST_CASE(two_certificates_on_one_token_are_ambiguous_until_the_id_is_given) {
    if (!has_token("two-certs")) return;
    Tokens t;
    auto m = softhsm();
    BOOST_TEST(locate_certificate(m, require(Uri::parse("pkcs11:token=two-certs"))).code() == Code::p11_ambiguous);
    auto two = require(locate_certificate(m, require(Uri::parse("pkcs11:token=two-certs;id=%02"))));
    BOOST_TEST(two.object.id_hex() == "02");
}
