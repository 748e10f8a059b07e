// The cardgate OpenSSL provider, in-process through LibContext: keys and
// certificates by pkcs11: URI from the SoftHSM fixtures (directly and through
// the fault-injecting faultp11), signatures made on the card in the private
// context and verified with the certificate's key in the default context.
//
// Every test works on a private copy of the fixture tokens and its own
// cardgate.conf; tests whose card hangs run in a child process with a deadline.
#define BOOST_TEST_MODULE provider
#include <boost/test/unit_test.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/provider.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "src/ossl.hpp"
#include "tls/provider/provctx.hpp"
#include "tls/provider/provider.hpp"

namespace cardgate {
inline std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
}  // namespace cardgate

using namespace cardgate;
using namespace cardgate::tls;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string env(const char* name, const char* fallback = "") {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

fs::path fixtures() { return env("CARDGATE_FIXTURES"); }

struct RequireFixtures {
    RequireFixtures() {
        if (fixtures().empty() || !fs::exists(fixtures() / "softhsm2.conf") ||
            env("SOFTHSM2_MODULE").empty() || env("FAULTP11_MODULE").empty()) {
            std::fprintf(stderr, "test_provider: fixtures or modules not set (run make check): SKIP\n");
            std::_Exit(77);
        }
    }
};
BOOST_TEST_GLOBAL_FIXTURE(RequireFixtures);

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

// A private copy of the tokens, a cardgate.conf naming `module` with
// `timeout`, and PIN files; faults as given (faultp11 reads them per call).
struct Card {
    fs::path dir;
    explicit Card(const std::string& faults = "", bool faulty = false, const std::string& timeout = "20s") {
        std::string tmpl = (fs::path(env("TMPDIR", "/tmp")) / "cardgate-prov-XXXXXX").string();
        BOOST_TEST_REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
        fs::copy(fixture_tokendir(), dir / "tokens", fs::copy_options::recursive);
        std::ofstream(dir / "softhsm2.conf") << "directories.tokendir = " << (dir / "tokens").string()
                                             << "\nobjectstore.backend = file\nlog.level = ERROR\n";
        setenv("SOFTHSM2_CONF", (dir / "softhsm2.conf").c_str(), 1);
        setenv("FAULTP11_REAL", env("SOFTHSM2_MODULE").c_str(), 1);
        setenv("FAULTP11_STATE", (dir / "faultp11.state").c_str(), 1);
        unsetenv("FAULTP11_CONTROL");
        setenv("FAULTP11_FAULTS", faults.c_str(), 1);
        const std::string module = faulty || !faults.empty() ? env("FAULTP11_MODULE") : env("SOFTHSM2_MODULE");
        // The fixture config with this test's module and timeout.
        std::ifstream in(fixtures() / "cardgate.conf");
        std::ofstream out(dir / "cardgate.conf");
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind("module = ", 0) == 0) line = "module = \"" + module + "\"";
            else if (line.rfind("timeout = ", 0) == 0) line = "timeout = \"" + timeout + "\"";
            out << line << "\n";
        }
        write_pin("pin", "123456");
        write_pin("wrong-pin", "999999");
    }
    ~Card() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    void write_pin(const std::string& name, const std::string& pin) const {
        std::ofstream(dir / name) << pin << "\n";
        fs::permissions(dir / name, fs::perms::owner_read | fs::perms::owner_write);
    }
    std::string conf() const { return (dir / "cardgate.conf").string(); }
    std::string pin_source(const std::string& name = "pin") const { return "file:" + (dir / name).string(); }
};

std::string key_uri(const std::string& token, const std::string& query = "") {
    return "pkcs11:token=" + token + ";object=alice;type=private" + (query.empty() ? "" : "?" + query);
}
std::string cert_uri(const std::string& token) { return "pkcs11:token=" + token + ";object=alice;type=cert"; }

template <class T>
T require(Result<T> r) {
    BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error().message()));
    return std::move(r).value();
}

LibContext context(const Card& card, std::function<Result<std::optional<SecretBuffer>>(const std::string&)> ask = {}) {
    ProviderOptions o;
    o.config_path = card.conf();
    o.ask_pin = std::move(ask);
    return require(LibContext::create(std::move(o)));
}

// The catalogue code of the first cardgate error on the queue (ok: none).
Code queued_code() {
    Code found = Code::ok;
    const char* data = nullptr;
    int flags = 0;
    unsigned long e = 0;
    while ((e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
        const int reason = ERR_GET_REASON(e);
        if (found == Code::ok && reason > prov::kReasonBase && data != nullptr && std::strncmp(data, "cardgate: ", 10) == 0)
            found = static_cast<Code>(reason - prov::kReasonBase);
    }
    return found;
}

struct SignOpts {
    const char* md = "SHA256";
    int pad = 0;               // 0: the key's default
    int saltlen = INT_MIN;     // INT_MIN: not set
    const char* mgf1 = nullptr;
};

const std::string kData = "cardgate provider test: sign me";

// EVP_DigestSign in the private context; the Code of a failure.
Result<std::vector<unsigned char>> digest_sign(const LibContext& ctx, EVP_PKEY* key, SignOpts o = {}) {
    ERR_clear_error();
    ossl::EvpMdCtxPtr m(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;  // owned by m
    bool ok = EVP_DigestSignInit_ex(m.get(), &pctx, o.md, ctx.get(), nullptr, key, nullptr) == 1;
    if (ok && o.pad != 0) ok = EVP_PKEY_CTX_set_rsa_padding(pctx, o.pad) == 1;
    if (ok && o.saltlen != INT_MIN) ok = EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, o.saltlen) == 1;
    if (ok && o.mgf1 != nullptr) ok = EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, o.mgf1, nullptr) == 1;
    std::size_t len = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(kData.data());
    if (ok) ok = EVP_DigestSign(m.get(), nullptr, &len, in, kData.size()) == 1;
    std::vector<unsigned char> sig(len);
    if (ok) ok = EVP_DigestSign(m.get(), sig.data(), &len, in, kData.size()) == 1;
    if (!ok) {
        Code c = queued_code();
        return Error(c == Code::ok ? Code::crypto : c, "digest_sign failed");
    }
    sig.resize(len);
    return sig;
}

// Verified in the default context with the certificate's key (PSS: any salt
// length, so the test does not assume what the card chose).
bool verifies(X509* cert, const std::vector<unsigned char>& sig, int pad = 0, const char* md = "SHA256") {
    EVP_PKEY* pk = X509_get0_pubkey(cert);  // get0: borrowed
    ossl::EvpMdCtxPtr m(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    if (EVP_DigestVerifyInit_ex(m.get(), &pctx, md, nullptr, nullptr, pk, nullptr) != 1) return false;
    if (pad != 0 && EVP_PKEY_CTX_set_rsa_padding(pctx, pad) != 1) return false;
    if (pad == RSA_PKCS1_PSS_PADDING && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1) return false;
    return EVP_DigestVerify(m.get(), sig.data(), sig.size(), reinterpret_cast<const unsigned char*>(kData.data()),
                            kData.size()) == 1;
}

// The PSS salt length a verifier recovers must be the digest length: the
// card's CKM_RSA_PKCS_PSS parameters (and the host-side fallback) use it.
bool verifies_pss_with_digest_salt(X509* cert, const std::vector<unsigned char>& sig, const char* md = "SHA256") {
    EVP_PKEY* pk = X509_get0_pubkey(cert);
    ossl::EvpMdCtxPtr m(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    return EVP_DigestVerifyInit_ex(m.get(), &pctx, md, nullptr, nullptr, pk, nullptr) == 1 &&
           EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
           EVP_DigestVerify(m.get(), sig.data(), sig.size(), reinterpret_cast<const unsigned char*>(kData.data()),
                            kData.size()) == 1;
}

// Runs body in a child with a hard deadline ("" = success).
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
        } catch (...) {
            report = "exception";
        }
        if (report.empty()) report = "OK";
        (void)!write(fds[1], report.data(), report.size());
        _exit(0);  // no destructors: an abandoned card call may still be running
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

// ------------------------------------------------------------------ happy paths

BOOST_AUTO_TEST_CASE(rsa2048_pkcs1_signature_verifies_with_the_certificate_key) {
    Card card;
    auto ctx = context(card);
    auto key = require(ctx.load_key(key_uri("alice-rsa2048", "pin-source=" + card.pin_source())));
    auto cert = require(ctx.load_certificate(cert_uri("alice-rsa2048")));
    auto sig = require(digest_sign(ctx, key.get(), {"SHA256", RSA_PKCS1_PADDING}));
    BOOST_TEST(verifies(cert.get(), sig, RSA_PKCS1_PADDING));
}

BOOST_AUTO_TEST_CASE(rsa2048_pss_signature_has_digest_length_salt_and_verifies) {
    Card card;
    auto ctx = context(card);
    auto key = require(ctx.load_key(key_uri("alice-rsa2048", "pin-value=123456")));
    auto cert = require(ctx.load_certificate(cert_uri("alice-rsa2048")));
    for (const char* md : {"SHA256", "SHA384", "SHA512"}) {
        auto sig = require(digest_sign(ctx, key.get(), {md, RSA_PKCS1_PSS_PADDING, RSA_PSS_SALTLEN_DIGEST}));
        BOOST_TEST(verifies_pss_with_digest_salt(cert.get(), sig, md), md);
    }
}

BOOST_AUTO_TEST_CASE(ecdsa_signatures_of_p256_and_p384_keys_verify) {
    Card card;
    auto ctx = context(card);
    for (auto [token, md] : {std::pair{"alice-ec256", "SHA256"}, std::pair{"alice-ec384", "SHA384"}}) {
        auto key = require(ctx.load_key(key_uri(token, "pin-value=123456")));
        auto cert = require(ctx.load_certificate(cert_uri(token)));
        auto sig = require(digest_sign(ctx, key.get(), {md}));
        BOOST_TEST(verifies(cert.get(), sig, 0, md), token);
    }
}

BOOST_AUTO_TEST_CASE(card_keys_are_ordinary_rsa_and_ec_keys_to_openssl) {
    Card card;
    auto ctx = context(card);
    auto rsa = require(ctx.load_key(key_uri("alice-rsa2048", "pin-value=123456")));
    BOOST_TEST(EVP_PKEY_is_a(rsa.get(), "RSA") == 1);
    BOOST_TEST(EVP_PKEY_get_bits(rsa.get()) == 2048);
    BOOST_TEST(EVP_PKEY_get_size(rsa.get()) == 256);
    BOOST_TEST(EVP_PKEY_get_security_bits(rsa.get()) == 112);
    auto ec = require(ctx.load_key(key_uri("alice-ec384", "pin-value=123456")));
    BOOST_TEST(EVP_PKEY_is_a(ec.get(), "EC") == 1);
    char group[64] = {};
    BOOST_TEST(EVP_PKEY_get_group_name(ec.get(), group, sizeof group, nullptr) == 1);
    BOOST_TEST(std::string(group) == "secp384r1");
    BOOST_TEST(EVP_PKEY_get_bits(ec.get()) == 384);
    char md[32] = {};
    BOOST_TEST(EVP_PKEY_get_default_digest_name(ec.get(), md, sizeof md) > 0);
}

BOOST_AUTO_TEST_CASE(card_key_equals_its_certificate_key) {
    Card card;
    auto ctx = context(card);
    for (const char* token : {"alice-rsa2048", "alice-ec256"}) {
        auto key = require(ctx.load_key(key_uri(token, "pin-value=123456")));
        auto cert = require(ctx.load_certificate(cert_uri(token)));
        BOOST_TEST(EVP_PKEY_eq(key.get(), X509_get0_pubkey(cert.get())) == 1, token);
        BOOST_TEST(X509_check_private_key(cert.get(), key.get()) == 1, token);
    }
}

BOOST_AUTO_TEST_CASE(public_half_exports_and_matches_the_certificate) {
    Card card;
    auto ctx = context(card);
    auto key = require(ctx.load_key(key_uri("alice-ec256", "pin-value=123456")));
    auto cert = require(ctx.load_certificate(cert_uri("alice-ec256")));
    unsigned char* der = nullptr;
    const int n = i2d_PUBKEY(key.get(), &der);
    BOOST_TEST_REQUIRE(n > 0);
    unsigned char* cder = nullptr;
    const int cn = i2d_PUBKEY(X509_get0_pubkey(cert.get()), &cder);
    BOOST_TEST((n == cn && std::memcmp(der, cder, static_cast<std::size_t>(n)) == 0));
    OPENSSL_free(der);
    OPENSSL_free(cder);
}

BOOST_AUTO_TEST_CASE(pin_is_asked_once_per_key_not_per_signature) {
    Card card;
    int asked = 0;
    std::string seen_prompt;
    auto ctx = context(card, [&](const std::string& prompt) -> Result<std::optional<SecretBuffer>> {
        ++asked;
        seen_prompt = prompt;
        return std::optional<SecretBuffer>(SecretBuffer::from("123456"));
    });
    auto key = require(ctx.load_key(key_uri("alice-ec256")));
    auto cert = require(ctx.load_certificate(cert_uri("alice-ec256")));
    for (int i = 0; i < 3; ++i) BOOST_TEST(verifies(cert.get(), require(digest_sign(ctx, key.get()))));
    BOOST_TEST(asked == 1);
    BOOST_TEST(seen_prompt.find("alice-ec256") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sign_on_a_precomputed_digest_verifies) {
    Card card;
    auto ctx = context(card);
    auto key = require(ctx.load_key(key_uri("alice-rsa2048", "pin-value=123456")));
    auto cert = require(ctx.load_certificate(cert_uri("alice-rsa2048")));
    unsigned char digest[32];
    unsigned int dl = 0;
    BOOST_TEST_REQUIRE(EVP_Digest(kData.data(), kData.size(), digest, &dl, EVP_sha256(), nullptr) == 1);
    ossl::EvpPkeyCtxPtr pctx(EVP_PKEY_CTX_new_from_pkey(ctx.get(), key.get(), nullptr));
    BOOST_TEST_REQUIRE(EVP_PKEY_sign_init(pctx.get()) == 1);
    BOOST_TEST_REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx.get(), RSA_PKCS1_PSS_PADDING) == 1);
    BOOST_TEST_REQUIRE(EVP_PKEY_CTX_set_signature_md(pctx.get(), EVP_sha256()) == 1);
    std::size_t len = 0;
    BOOST_TEST_REQUIRE(EVP_PKEY_sign(pctx.get(), nullptr, &len, digest, dl) == 1);
    std::vector<unsigned char> sig(len);
    BOOST_TEST_REQUIRE(EVP_PKEY_sign(pctx.get(), sig.data(), &len, digest, dl) == 1);
    sig.resize(len);
    BOOST_TEST(verifies_pss_with_digest_salt(cert.get(), sig));
}

BOOST_AUTO_TEST_CASE(one_key_signs_from_several_threads) {
    Card card;
    auto ctx = context(card);
    auto key = require(ctx.load_key(key_uri("alice-ec256", "pin-value=123456")));
    auto cert = require(ctx.load_certificate(cert_uri("alice-ec256")));
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 5; ++i) {
                auto sig = digest_sign(ctx, key.get());
                if (sig.ok() && verifies(cert.get(), *sig)) ++good;
            }
        });
    for (auto& t : threads) t.join();
    BOOST_TEST(good.load() == 20);
}

BOOST_AUTO_TEST_CASE(only_x509_token_still_produces_a_correct_pss_signature) {
    Card card("only_x509");
    auto ctx = context(card);
    auto key = require(ctx.load_key(key_uri("alice-rsa2048", "pin-value=123456")));
    auto cert = require(ctx.load_certificate(cert_uri("alice-rsa2048")));
    auto sig = require(digest_sign(ctx, key.get(), {"SHA256", RSA_PKCS1_PSS_PADDING, RSA_PSS_SALTLEN_DIGEST}));
    BOOST_TEST(verifies_pss_with_digest_salt(cert.get(), sig));
}

BOOST_AUTO_TEST_CASE(no_pss_token_pss_falls_back_to_host_padding_and_verifies) {
    Card card("no_pss");
    auto ctx = context(card);
    auto key = require(ctx.load_key(key_uri("alice-rsa2048", "pin-value=123456")));
    auto cert = require(ctx.load_certificate(cert_uri("alice-rsa2048")));
    auto sig = require(digest_sign(ctx, key.get(), {"SHA256", RSA_PKCS1_PSS_PADDING, RSA_PSS_SALTLEN_DIGEST}));
    BOOST_TEST(verifies_pss_with_digest_salt(cert.get(), sig));
}

BOOST_AUTO_TEST_CASE(child_after_fork_logs_in_again_with_a_pin_source) {
    Card card;
    auto ctx = context(card);
    auto key = require(ctx.load_key(key_uri("alice-ec256", "pin-source=" + card.pin_source())));
    auto cert = require(ctx.load_certificate(cert_uri("alice-ec256")));
    auto report = in_child([&]() -> std::string {
        auto sig = digest_sign(ctx, key.get());
        if (!sig.ok()) return "child sign: " + std::string(name(sig.code()));
        return verifies(cert.get(), *sig) ? "" : "child signature does not verify";
    });
    BOOST_TEST(report == "");
    BOOST_TEST(verifies(cert.get(), require(digest_sign(ctx, key.get()))));  // the parent's session still works
}

namespace {

using SslCtxPtr = std::unique_ptr<SSL_CTX, ossl::Deleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, ossl::Deleter<SSL_free>>;

// A server in the default context demanding a client certificate from the
// organisation's CA; what it saw of the client.
struct Handshake {
    bool done = false;
    std::string peer_subject;
    int peer_sig_nid = NID_undef;
};

Handshake handshake(const LibContext& ctx, EVP_PKEY* key, X509* cert, int version) {
    Handshake h;
    SslCtxPtr sctx(SSL_CTX_new(TLS_server_method()));
    SslCtxPtr cctx(SSL_CTX_new_ex(ctx.get(), nullptr, TLS_client_method()));
    if (!sctx || !cctx) return h;
    const auto pki = fixtures() / "pki";
    if (SSL_CTX_use_certificate_file(sctx.get(), (pki / "server-ec256.pem").c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(sctx.get(), (pki / "server-ec256.key").c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(sctx.get(), (pki / "root.pem").c_str(), nullptr) != 1 ||
        SSL_CTX_load_verify_locations(sctx.get(), (pki / "issuing.pem").c_str(), nullptr) != 1)
        return h;
    SSL_CTX_set_verify(sctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    for (SSL_CTX* c : {sctx.get(), cctx.get()}) {
        SSL_CTX_set_min_proto_version(c, version);
        SSL_CTX_set_max_proto_version(c, version);
    }
    if (SSL_CTX_use_certificate(cctx.get(), cert) != 1 || SSL_CTX_use_PrivateKey(cctx.get(), key) != 1) return h;
    SslPtr server(SSL_new(sctx.get())), client(SSL_new(cctx.get()));
    BIO *a = nullptr, *b = nullptr;
    if (!server || !client || BIO_new_bio_pair(&a, 0, &b, 0) != 1) return h;
    SSL_set_bio(server.get(), a, a);  // set0: the SSLs own the BIOs now
    SSL_set_bio(client.get(), b, b);
    SSL_set_accept_state(server.get());
    SSL_set_connect_state(client.get());
    for (int i = 0; i < 50 && !h.done; ++i) {
        const int rc = SSL_do_handshake(client.get());
        const int rs = SSL_do_handshake(server.get());
        h.done = rc == 1 && rs == 1;
        if ((rc != 1 && SSL_get_error(client.get(), rc) != SSL_ERROR_WANT_READ) ||
            (rs != 1 && SSL_get_error(server.get(), rs) != SSL_ERROR_WANT_READ))
            break;
    }
    if (!h.done) return h;
    X509* peer = SSL_get0_peer_certificate(server.get());  // get0: borrowed
    if (peer != nullptr) {
        char buf[256];
        X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof buf);
        h.peer_subject = buf;
    }
    SSL_get_peer_signature_type_nid(server.get(), &h.peer_sig_nid);
    return h;
}

}  // namespace

BOOST_AUTO_TEST_CASE(libssl_in_the_private_context_does_mutual_tls_with_card_keys) {
    Card card;
    auto ctx = context(card);
    for (const char* token : {"alice-rsa2048", "alice-ec256"}) {
        auto key = require(ctx.load_key(key_uri(token, "pin-value=123456")));
        auto cert = require(ctx.load_certificate(cert_uri(token)));
        for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
            auto h = handshake(ctx, key.get(), cert.get(), v);
            BOOST_TEST(h.done, token << " version " << std::hex << v << ": " << ossl::last_error());
            BOOST_TEST(h.peer_subject.find("CN=Alice Example") != std::string::npos, token);
            if (v == TLS1_3_VERSION && std::string(token) == "alice-rsa2048")
                BOOST_TEST(h.peer_sig_nid == NID_rsassaPss);  // TLS 1.3 RSA is PSS (RFC 8446 §4.2.3)
        }
    }
}

// ------------------------------------------------------------------ hostile

BOOST_AUTO_TEST_CASE(key_of_copied_token_differs_from_the_certificate_it_carries) {
    Card card;
    auto ctx = context(card);
    auto key = require(ctx.load_key(key_uri("copied", "pin-value=123456")));
    auto cert = require(ctx.load_certificate(cert_uri("copied")));
    BOOST_TEST(EVP_PKEY_eq(key.get(), X509_get0_pubkey(cert.get())) != 1);
    BOOST_TEST(X509_check_private_key(cert.get(), key.get()) != 1);
}

BOOST_AUTO_TEST_CASE(wrong_pin_is_p11_pin_incorrect_and_not_retried) {
    Card card("pin_counter");
    int asked = 0;
    auto ctx = context(card, [&](const std::string&) -> Result<std::optional<SecretBuffer>> {
        ++asked;
        return std::optional<SecretBuffer>(SecretBuffer::from("999999"));
    });
    auto r = ctx.load_key(key_uri("alice-ec256"));
    BOOST_TEST(r.code() == Code::p11_pin_incorrect);
    BOOST_TEST(asked == 1);
    BOOST_TEST(r.error().detail().find("999999") == std::string::npos);
    // One try spent, not more: the counter says "count low", not "final try".
    BOOST_TEST(r.error().detail().find("PIN count low") != std::string::npos, r.error().detail());
}

BOOST_AUTO_TEST_CASE(locked_pin_is_not_asked_for_nor_tried) {
    Card card("pin_counter");
    auto wrong = [](const std::string&) -> Result<std::optional<SecretBuffer>> {
        return std::optional<SecretBuffer>(SecretBuffer::from("999999"));
    };
    {
        auto ctx = context(card, wrong);
        for (int i = 0; i < 3; ++i) (void)ctx.load_key(key_uri("alice-ec256"));
    }
    int asked = 0;
    auto ctx = context(card, [&](const std::string&) -> Result<std::optional<SecretBuffer>> {
        ++asked;
        return std::optional<SecretBuffer>(SecretBuffer::from("123456"));
    });
    BOOST_TEST(ctx.load_key(key_uri("alice-ec256")).code() == Code::p11_pin_locked);
    BOOST_TEST(asked == 0);
}

BOOST_AUTO_TEST_CASE(pin_pad_reader_logs_in_without_asking) {
    Card card("pin_pad");
    setenv("FAULTP11_PAD_PIN", "123456", 1);
    int asked = 0;
    auto ctx = context(card, [&](const std::string&) -> Result<std::optional<SecretBuffer>> {
        ++asked;
        return std::optional<SecretBuffer>();
    });
    auto key = ctx.load_key(key_uri("alice-ec256"));
    unsetenv("FAULTP11_PAD_PIN");
    BOOST_TEST(key.ok(), (key.ok() ? "" : key.error().message()));
    BOOST_TEST(asked == 0);
}

BOOST_AUTO_TEST_CASE(wrong_pin_in_pin_source_is_p11_pin_incorrect) {
    Card card;
    auto ctx = context(card);
    auto r = ctx.load_key(key_uri("alice-rsa2048", "pin-source=" + card.pin_source("wrong-pin")));
    BOOST_TEST(r.code() == Code::p11_pin_incorrect);
}

BOOST_AUTO_TEST_CASE(missing_pin_source_file_is_refused_naming_the_file) {
    Card card;
    auto ctx = context(card);
    auto r = ctx.load_key(key_uri("alice-ec256", "pin-source=file:" + (card.dir / "absent").string()));
    BOOST_TEST(r.code() == Code::usage);
    BOOST_TEST(r.error().detail().find("absent") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_pin_source_and_no_callback_is_p11_pin_required) {
    Card card;
    auto ctx = context(card);
    auto r = ctx.load_key(key_uri("alice-ec256"));
    BOOST_TEST(r.code() == Code::p11_pin_required);
}

BOOST_AUTO_TEST_CASE(cancelled_pin_prompt_is_login_cancelled) {
    Card card;
    auto ctx = context(card, [](const std::string&) -> Result<std::optional<SecretBuffer>> { return std::optional<SecretBuffer>(); });
    auto r = ctx.load_key(key_uri("alice-ec256"));
    BOOST_TEST(r.code() == Code::login_cancelled);
}

BOOST_AUTO_TEST_CASE(error_from_the_pin_callback_is_returned_as_is) {
    Card card;
    auto ctx = context(card, [](const std::string&) -> Result<std::optional<SecretBuffer>> {
        return Error(Code::io, "terminal went away");
    });
    auto r = ctx.load_key(key_uri("alice-ec256"));
    BOOST_TEST(r.code() == Code::io);
}

BOOST_AUTO_TEST_CASE(malformed_uri_is_uri_syntax) {
    Card card;
    auto ctx = context(card);
    BOOST_TEST(ctx.load_key("pkcs11:token=alice%zz;type=private").code() == Code::uri_syntax);
    BOOST_TEST(ctx.load_certificate("pkcs11:token=a;token=b").code() == Code::uri_syntax);
}

BOOST_AUTO_TEST_CASE(uri_naming_no_object_is_p11_no_object) {
    Card card;
    auto ctx = context(card);
    BOOST_TEST(ctx.load_key("pkcs11:token=alice-ec256;object=nobody;type=private?pin-value=123456").code() ==
               Code::p11_no_object);
    BOOST_TEST(ctx.load_certificate("pkcs11:token=alice-ec256;object=nobody;type=cert").code() == Code::p11_no_object);
}

BOOST_AUTO_TEST_CASE(uri_naming_no_token_is_p11_no_token) {
    Card card;
    auto ctx = context(card);
    BOOST_TEST(ctx.load_key(key_uri("no-such-badge", "pin-value=123456")).code() == Code::p11_no_token);
}

BOOST_AUTO_TEST_CASE(uri_naming_several_objects_is_p11_ambiguous) {
    Card card;
    auto ctx = context(card);
    // Every badge holds object alice: a key URI without a token names them all
    // (refused before any PIN is spent), and two-certs holds two certificates.
    BOOST_TEST(ctx.load_key("pkcs11:object=alice;type=private?pin-value=123456").code() == Code::p11_ambiguous);
    BOOST_TEST(ctx.load_certificate("pkcs11:token=two-certs;type=cert").code() == Code::p11_ambiguous);
}

// token.module is code loaded into whatever application uses the provider:
// the login path's trusted-file check applies (src/files.hpp), so a module
// someone else could replace is never loaded.
BOOST_AUTO_TEST_CASE(world_writable_token_module_is_refused_as_config_file) {
    Card card;
    const fs::path copy = card.dir / "writable-module.so";
    fs::copy_file(env("SOFTHSM2_MODULE"), copy);
    fs::permissions(copy, fs::perms::all & ~(fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec));
    std::ifstream in(card.conf());
    std::stringstream rewritten;
    std::string line;
    while (std::getline(in, line))
        rewritten << (line.rfind("module = ", 0) == 0 ? "module = \"" + copy.string() + "\"" : line) << "\n";
    in.close();
    std::ofstream(card.conf()) << rewritten.str();
    auto ctx = context(card);
    auto cert = ctx.load_certificate(cert_uri("alice-ec256"));
    BOOST_TEST_REQUIRE(!cert.ok());
    BOOST_TEST(cert.code() == Code::config_file);
    BOOST_TEST(cert.error().detail().find("token.module") != std::string::npos, cert.error().message());
}

BOOST_AUTO_TEST_CASE(pss_parameters_the_card_cannot_do_are_refused) {
    Card card;
    auto ctx = context(card);
    auto key = require(ctx.load_key(key_uri("alice-rsa2048", "pin-value=123456")));
    BOOST_TEST(digest_sign(ctx, key.get(), {"SHA256", RSA_PKCS1_PSS_PADDING, RSA_PSS_SALTLEN_MAX}).code() ==
               Code::p11_mechanism);
    BOOST_TEST(digest_sign(ctx, key.get(), {"SHA256", RSA_PKCS1_PSS_PADDING, 20}).code() == Code::p11_mechanism);
    BOOST_TEST(digest_sign(ctx, key.get(), {"SHA256", RSA_PKCS1_PSS_PADDING, RSA_PSS_SALTLEN_DIGEST, "SHA384"}).code() ==
               Code::p11_mechanism);
}

BOOST_AUTO_TEST_CASE(sha1_and_raw_rsa_are_refused) {
    Card card;
    auto ctx = context(card);
    auto key = require(ctx.load_key(key_uri("alice-rsa2048", "pin-value=123456")));
    BOOST_TEST(digest_sign(ctx, key.get(), {"SHA1", RSA_PKCS1_PADDING}).code() == Code::p11_mechanism);
    BOOST_TEST(digest_sign(ctx, key.get(), {"SHA256", RSA_NO_PADDING}).code() == Code::p11_mechanism);
}

BOOST_AUTO_TEST_CASE(private_key_material_is_never_imported) {
    Card card;
    auto ctx = context(card);
    ossl::EvpPkeyCtxPtr gen(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* raw = nullptr;
    BOOST_TEST_REQUIRE(EVP_PKEY_keygen_init(gen.get()) == 1);
    BOOST_TEST_REQUIRE(EVP_PKEY_CTX_set_group_name(gen.get(), "P-256") == 1);
    BOOST_TEST_REQUIRE(EVP_PKEY_keygen(gen.get(), &raw) == 1);
    ossl::EvpPkeyPtr file_key(raw);
    OSSL_PARAM* params = nullptr;
    BOOST_TEST_REQUIRE(EVP_PKEY_todata(file_key.get(), EVP_PKEY_KEYPAIR, &params) == 1);
    ossl::EvpPkeyCtxPtr into(EVP_PKEY_CTX_new_from_name(ctx.get(), "EC", "provider=cardgate"));
    EVP_PKEY* imported = nullptr;
    BOOST_TEST_REQUIRE(into.get() != nullptr);
    BOOST_TEST(EVP_PKEY_fromdata_init(into.get()) == 1);
    BOOST_TEST(EVP_PKEY_fromdata(into.get(), &imported, EVP_PKEY_KEYPAIR, params) != 1);
    EVP_PKEY_free(imported);
    OSSL_PARAM_free(params);
    ERR_clear_error();
}

BOOST_AUTO_TEST_CASE(hung_card_is_p11_timeout_within_token_timeout) {
    auto report = in_child([]() -> std::string {
        Card card("", true, "1s");
        auto ctx = context(card);
        auto key = ctx.load_key(key_uri("alice-ec256", "pin-value=123456"));
        if (!key.ok()) return "load: " + key.error().message();
        setenv("FAULTP11_FAULTS", "hang_sign", 1);  // faultp11 reads its faults at each call
        auto start = std::chrono::steady_clock::now();
        auto sig = digest_sign(ctx, key->get());
        auto took = std::chrono::steady_clock::now() - start;
        if (sig.code() != Code::p11_timeout) return "expected p11_timeout, got " + std::string(name(sig.code()));
        if (took > 3s) return "took longer than the 1s bound allows";
        return "";
    });
    BOOST_TEST(report == "");
}

BOOST_AUTO_TEST_CASE(card_removed_during_signature_is_p11_device_removed) {
    Card card("", true);
    auto ctx = context(card);
    auto key = require(ctx.load_key(key_uri("alice-ec256", "pin-value=123456")));
    setenv("FAULTP11_FAULTS", "removed_sign", 1);
    BOOST_TEST(digest_sign(ctx, key.get()).code() == Code::p11_device_removed);
}

BOOST_AUTO_TEST_CASE(corrupted_rsa_signature_never_leaves_the_provider) {
    Card card("", true);
    auto ctx = context(card);
    auto key = require(ctx.load_key(key_uri("alice-rsa2048", "pin-value=123456")));
    setenv("FAULTP11_FAULTS", "corrupt_sign", 1);
    BOOST_TEST(digest_sign(ctx, key.get(), {"SHA256", RSA_PKCS1_PSS_PADDING}).code() == Code::proof_bad_signature);
}

BOOST_AUTO_TEST_CASE(child_after_fork_without_a_pin_source_is_refused) {
    Card card;
    auto ctx = context(card, [](const std::string&) -> Result<std::optional<SecretBuffer>> {
        return std::optional<SecretBuffer>(SecretBuffer::from("123456"));
    });
    auto key = require(ctx.load_key(key_uri("alice-ec256")));
    auto report = in_child([&]() -> std::string {
        auto sig = digest_sign(ctx, key.get());
        return sig.code() == Code::p11_pin_required ? "" : "expected p11_pin_required, got " + std::string(name(sig.code()));
    });
    BOOST_TEST(report == "");
}

BOOST_AUTO_TEST_CASE(broken_config_is_reported_when_the_context_is_created) {
    ProviderOptions o;
    o.config_path = "/nonexistent/cardgate.conf";
    BOOST_TEST(LibContext::create(std::move(o)).code() == Code::config_io);
}

BOOST_AUTO_TEST_CASE(default_context_never_sees_the_provider) {
    Card card;
    auto ctx = context(card);
    auto key = require(ctx.load_key(key_uri("alice-ec256", "pin-value=123456")));
    BOOST_TEST(OSSL_PROVIDER_available(nullptr, "cardgate") == 0);
    EVP_KEYMGMT* km = EVP_KEYMGMT_fetch(nullptr, "EC", "provider=cardgate");
    BOOST_TEST(km == nullptr);
    EVP_KEYMGMT_free(km);
    EVP_SIGNATURE* sig = EVP_SIGNATURE_fetch(nullptr, "ECDSA", "provider=cardgate");
    BOOST_TEST(sig == nullptr);
    EVP_SIGNATURE_free(sig);
    ERR_clear_error();
    // Ordinary key work in the private context stays with "default".
    ossl::EvpPkeyCtxPtr gen(EVP_PKEY_CTX_new_from_name(ctx.get(), "EC", nullptr));
    EVP_PKEY* raw = nullptr;
    BOOST_TEST_REQUIRE(EVP_PKEY_keygen_init(gen.get()) == 1);
    BOOST_TEST(EVP_PKEY_CTX_set_group_name(gen.get(), "P-256") == 1);
    BOOST_TEST(EVP_PKEY_keygen(gen.get(), &raw) == 1);
    EVP_PKEY_free(raw);
}
