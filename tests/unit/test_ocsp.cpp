// http_fetch and ocsp against real servers, in a private network namespace
// (netns.hpp): `openssl ocsp` responders signing as a delegated responder, as
// the issuing CA, and as everything that must be refused; python3's
// http.server; and hostile_http.py, which stalls, redirects, overflows, cuts
// and serves canned OCSP responses (other nonce, other certificate, ...).
#define BOOST_TEST_MODULE ocsp
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "src/http_fetch.hpp"
#include "src/ocsp.hpp"
#include "src/ossl.hpp"
#include "tests/unit/certgen.hpp"
#include "tests/unit/netns.hpp"

using namespace cardgate;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Ports inside the namespace. 18888 is what the fixture leaves' AIA names.
constexpr int port_delegated = 18888;  // ocsp-responder (OCSPSigning, issued by the issuing CA)
constexpr int port_ca = 18891;          // the issuing CA signs, ResponderID by name
constexpr int port_ca_keyid = 18892;    // the issuing CA signs, ResponderID by key hash
constexpr int port_noeku = 18893;       // delegated, EKU clientAuth only
constexpr int port_foreign = 18894;     // delegated, certified by the look-alike CA
constexpr int port_lookalike = 18895;   // the look-alike CA (same name as the issuing CA) signs
constexpr int port_nocerts = 18896;     // delegated, but its certificate left out of the response
constexpr int port_unknown = 18897;     // delegated, index without alice-ec256's line
constexpr int port_sha1 = 18898;        // delegated, signing with SHA-1
constexpr int port_badku = 18903;       // delegated, keyUsage keyEncipherment only
constexpr int port_critext = 18904;     // delegated, an unknown critical extension in its certificate
constexpr int port_checked = 18905;     // delegated, without id-pkix-ocsp-nocheck
constexpr int port_hostile = 18900;     // hostile_http.py
constexpr int port_files = 18901;       // python3 -m http.server
constexpr int port_silent = 18902;      // a socket the test listens on and never expects a connection to
constexpr int port_down = 18999;        // nothing

std::string env(const char* name) {
    const char* v = std::getenv(name);
    BOOST_REQUIRE_MESSAGE(v && *v, name << " is not set (run through make check)");
    return v;
}

// The error of a result for a failure message, "" when it is fine (Boost
// builds the message even when the check passes).
template <typename R>
std::string why(const R& r) {
    return r.ok() ? std::string() : r.error().message();
}

std::string fixtures() { return env("CARDGATE_FIXTURES"); }

std::string url(int port, const std::string& path = "/") { return "http://127.0.0.1:" + std::to_string(port) + path; }

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << bytes;
    BOOST_REQUIRE_MESSAGE(f.good(), "cannot write " << path);
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    BOOST_REQUIRE_MESSAGE(f.good(), "cannot read " << path);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

ossl::X509Ptr load_cert(const std::string& rel) {
    const std::string path = fixtures() + "/" + rel;
    ossl::BioPtr bio(BIO_new_file(path.c_str(), "r"));  // owned
    BOOST_REQUIRE_MESSAGE(bio, "cannot open " << path);
    ossl::X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));  // owned
    BOOST_REQUIRE_MESSAGE(x, "not a PEM certificate: " << path);
    return x;
}

bool port_accepts(int port) {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = s >= 0 && ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (s >= 0) ::close(s);
    return ok;
}

// A child process (server), killed and reaped on destruction.
class Child {
public:
    Child(std::vector<std::string> argv, const std::string& log) : name_(argv.at(0) + " " + argv.back()) {
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
        if (pid_ == 0) {
            // Only async-signal-safe calls here. The server dies with the test
            // program, even when that one is killed or aborts.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(127);
            const int in = ::open("/dev/null", O_RDONLY);
            const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (in < 0 || out < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) ::_exit(127);
            ::execvp(args[0], args.data());
            ::_exit(127);
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        int st = 0;
        ::waitpid(pid_, &st, 0);
    }
    // Bounded: 10 s for `ready` to hold, or an exception naming the server.
    template <typename Ready>
    void wait_until(Ready ready, const std::string& what, const std::string& log) {
        for (int i = 0; i < 200; ++i) {
            if (ready()) return;
            int st = 0;
            if (::waitpid(pid_, &st, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error(name_ + " exited before " + what + "; see " + log);
            }
            std::this_thread::sleep_for(50ms);
        }
        throw std::runtime_error(name_ + ": not " + what + " after 10 s; see " + log);
    }

private:
    std::string name_;
    pid_t pid_ = -1;
};

// Everything the tests talk to, started once for the whole program.
struct World {
    std::string dir;  // scratch: logs, canned responses, files served
    std::vector<std::unique_ptr<Child>> children;
    int silent_fd = -1;

    World() {
        netns::require_private_network();
        char tmpl[] = "/tmp/cardgate-test-ocsp.XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
        dir = tmpl;
        const char* f = std::getenv("CARDGATE_FIXTURES");
        const char* src = std::getenv("CARDGATE_SRCDIR");
        if (!f || !src) throw std::runtime_error("CARDGATE_FIXTURES and CARDGATE_SRCDIR must be set (make check)");
        const std::string F = f;
        make_unknown_index(F);
        std::ofstream(dir + "/files/hello.txt") << "hello, revocation\n";

        const std::string pki = F + "/pki/", ca = F + "/ca/";
        responder(port_delegated, F + "/ca/issuing/index.txt", pki + "ocsp-responder.pem", ca + "ocsp-responder.key");
        responder(port_ca, F + "/ca/issuing/index.txt", pki + "issuing.pem", ca + "issuing/ca.key");
        responder(port_ca_keyid, F + "/ca/issuing/index.txt", pki + "issuing.pem", ca + "issuing/ca.key", {"-resp_key_id"});
        responder(port_noeku, F + "/ca/issuing/index.txt", pki + "ocsp-noeku.pem", ca + "ocsp-noeku.key");
        responder(port_foreign, F + "/ca/issuing/index.txt", pki + "ocsp-foreign.pem", ca + "ocsp-foreign.key");
        responder(port_lookalike, F + "/ca/issuing/index.txt", pki + "lookalike-ca.pem", ca + "lookalike/ca.key");
        responder(port_nocerts, F + "/ca/issuing/index.txt", pki + "ocsp-responder.pem", ca + "ocsp-responder.key",
                  {"-resp_no_certs"});
        responder(port_unknown, dir + "/index-without-alice.txt", pki + "ocsp-responder.pem", ca + "ocsp-responder.key");
        responder(port_sha1, F + "/ca/issuing/index.txt", pki + "ocsp-responder.pem", ca + "ocsp-responder.key",
                  {"-rmd", "sha1"});
        for (auto [port, name] : {std::pair{port_badku, "ocsp-badku"}, std::pair{port_critext, "ocsp-critext"},
                                  std::pair{port_checked, "ocsp-checked"}})
            responder(port, F + "/ca/issuing/index.txt", pki + name + ".pem", ca + name + ".key");
        start({"python3", std::string(src) + "/tests/unit/hostile_http.py", std::to_string(port_hostile), dir + "/canned"},
              port_hostile);
        start({"python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir + "/files",
               std::to_string(port_files)},
              port_files);
        silent_fd = listen_silently(port_silent);
    }
    ~World() {
        children.clear();  // kills and reaps every server
        if (silent_fd >= 0) ::close(silent_fd);
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    // Python servers: ready when the port accepts a connection.
    void start(std::vector<std::string> argv, int port) {
        const std::string log = dir + "/server-" + std::to_string(port) + ".log";
        children.push_back(std::make_unique<Child>(std::move(argv), log));
        children.back()->wait_until([port] { return port_accepts(port); }, "listening", log);
    }
    void responder(int port, const std::string& index, const std::string& signer, const std::string& key,
                   std::vector<std::string> extra = {}) {
        std::vector<std::string> argv{"openssl", "ocsp", "-index", index, "-rsigner", signer, "-rkey", key,
                                      "-CA", fixtures() + "/pki/issuing.pem", "-nmin", "60"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.insert(argv.end(), {"-port", std::to_string(port)});
        // Not probed with a connection: OpenSSL 3.0's responder hangs on a
        // client that connects and sends nothing. It says when it listens.
        const std::string log = dir + "/server-" + std::to_string(port) + ".log";
        children.push_back(std::make_unique<Child>(std::move(argv), log));
        children.back()->wait_until(
            [&log] {
                std::ifstream f(log);
                const std::string text{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
                return text.find("waiting for OCSP client connections") != std::string::npos;
            },
            "listening", log);
    }
    // `openssl ocsp` answers "unknown" for a serial that has no index line.
    void make_unknown_index(const std::string& F) {
        std::filesystem::create_directories(dir + "/canned");
        std::filesystem::create_directories(dir + "/files");
        const std::string serial = serial_of(F + "/certs/alice-ec256.pem");
        std::istringstream in(read_file(F + "/ca/issuing/index.txt"));
        std::string out, line;
        while (std::getline(in, line))
            if (line.find("\t" + serial + "\t") == std::string::npos) out += line + "\n";
        write_file(dir + "/index-without-alice.txt", out);
        // The fixture CA issues several certificates to one subject.
        write_file(dir + "/index-without-alice.txt.attr", "unique_subject = no\n");
    }
    static std::string serial_of(const std::string& pem) {
        ossl::BioPtr bio(BIO_new_file(pem.c_str(), "r"));
        ossl::X509Ptr x(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
        if (!x) throw std::runtime_error("cannot read " + pem);
        ossl::BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x.get()), nullptr));
        ossl::OsslString hex(BN_bn2hex(bn.get()));
        return hex.get();
    }
    static int listen_silently(int port) {
        const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 8) != 0)
            throw std::runtime_error("cannot listen on " + std::to_string(port));
        return s;
    }
};

World* world = nullptr;

struct GlobalWorld {
    GlobalWorld() { world = new World(); }
    ~GlobalWorld() {
        delete world;
        world = nullptr;
    }
};
BOOST_TEST_GLOBAL_FIXTURE(GlobalWorld);

// Connections made to port_silent since the last call.
int silent_connections() {
    int n = 0;
    while (true) {
        const int c = ::accept4(world->silent_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) break;
        ::close(c);
        ++n;
    }
    return n;
}

// --------------------------------------------------------------- OCSP helpers

struct Pki {
    ossl::X509Ptr issuer = load_cert("pki/issuing.pem");
    ossl::X509Ptr alice = load_cert("certs/alice-ec256.pem");
    ossl::X509Ptr bob = load_cert("certs/bob-ec256.pem");
    ossl::X509Ptr revoked = load_cert("certs/revoked.pem");
    ossl::X509Ptr root = load_cert("pki/root.pem");
};

std::time_t now() { return std::time(nullptr); }

OcspSettings settings(bool nonce = true) {
    OcspSettings s;
    s.nonce = nonce;
    s.fetch.timeout = 2000ms;
    return s;
}

// A raw response from a responder: our own request (hash `md`, a nonce when
// asked), the bytes kept as they came, for the canned-response cases.
std::string raw_response(int port, X509* cert, X509* issuer, const EVP_MD* md, bool nonce) {
    ossl::OcspRequestPtr req(OCSP_REQUEST_new());
    OCSP_CERTID* id = OCSP_cert_to_id(md, cert, issuer);  // owned until add0
    BOOST_REQUIRE(req && id);
    BOOST_REQUIRE(OCSP_request_add0_id(req.get(), id));  // add0: the request owns id
    if (nonce) BOOST_REQUIRE(OCSP_request_add1_nonce(req.get(), nullptr, -1) == 1);
    unsigned char* buf = nullptr;
    const int n = i2d_OCSP_REQUEST(req.get(), &buf);  // allocates buf
    BOOST_REQUIRE(n > 0);
    const std::string body(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
    OPENSSL_free(buf);
    auto r = http_post(url(port), "application/ocsp-request", body, FetchLimits{});
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    return *r;
}

// Serves `der` from the hostile server; returns its URL.
std::string canned(const std::string& name, const std::string& der) {
    write_file(world->dir + "/canned/" + name, der);
    return url(port_hostile, "/file/" + name);
}

std::string der_of(OCSP_RESPONSE* resp) {
    unsigned char* buf = nullptr;
    const int n = i2d_OCSP_RESPONSE(resp, &buf);  // allocates buf
    BOOST_REQUIRE(n > 0);
    std::string out(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
    OPENSSL_free(buf);
    return out;
}

ossl::EvpPkeyPtr load_key(const std::string& rel) {
    const std::string path = fixtures() + "/" + rel;
    ossl::BioPtr bio(BIO_new_file(path.c_str(), "r"));  // owned
    BOOST_REQUIRE_MESSAGE(bio, "cannot open " << path);
    ossl::EvpPkeyPtr k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));  // owned
    BOOST_REQUIRE_MESSAGE(k, "not a PEM key: " << path);
    return k;
}

// One SingleResponse of a forged response; times relative to now, seconds.
struct Single {
    X509* cert;
    int status = V_OCSP_CERTSTATUS_GOOD;
    long this_update = -60;
    std::optional<long> next_update = 3600;
};

// A response made here rather than by a responder, for shapes `openssl ocsp`
// never produces: signed by `signer` with `key`, ResponderID by name (or by
// key hash with OCSP_RESPID_KEY in `flags`), signer certificate included.
// Extension 1.2.3.4.99 (a NULL), critical or not, that no one knows.
enum class Extra { none, response_critical, single_critical, response_noncritical };
void add_unknown_extension(Extra where, OCSP_BASICRESP* bs, OCSP_SINGLERESP* single) {
    if (where == Extra::none) return;
    ossl::Asn1ObjectPtr obj(OBJ_txt2obj("1.2.3.4.99", 1));
    std::unique_ptr<ASN1_OCTET_STRING, ossl::Deleter<ASN1_OCTET_STRING_free>> value(ASN1_OCTET_STRING_new());
    BOOST_REQUIRE(obj && value && ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>("\x05\x00"), 2));
    std::unique_ptr<X509_EXTENSION, ossl::Deleter<X509_EXTENSION_free>> ext(
        X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), where != Extra::response_noncritical, value.get()));
    BOOST_REQUIRE(ext);
    // add_ext copies the extension.
    BOOST_REQUIRE(where == Extra::single_critical ? OCSP_SINGLERESP_add_ext(single, ext.get(), -1)
                                                  : OCSP_BASICRESP_add_ext(bs, ext.get(), -1));
}

std::string forge(const std::vector<Single>& singles, X509* issuer, X509* signer, EVP_PKEY* key,
                  unsigned long flags = 0, Extra extra = Extra::none) {
    ossl::OcspBasicRespPtr bs(OCSP_BASICRESP_new());
    BOOST_REQUIRE(bs);
    for (const Single& s : singles) {
        ossl::OcspCertIdPtr id(OCSP_cert_to_id(EVP_sha1(), s.cert, issuer));
        std::unique_ptr<ASN1_TIME, ossl::Deleter<ASN1_TIME_free>> this_upd(X509_gmtime_adj(nullptr, s.this_update));
        std::unique_ptr<ASN1_TIME, ossl::Deleter<ASN1_TIME_free>> next_upd(
            s.next_update ? X509_gmtime_adj(nullptr, *s.next_update) : nullptr);
        std::unique_ptr<ASN1_TIME, ossl::Deleter<ASN1_TIME_free>> revoked(X509_gmtime_adj(nullptr, -86400));
        const bool is_revoked = s.status == V_OCSP_CERTSTATUS_REVOKED;
        // add1: the CertID and the times are copied into bs.
        OCSP_SINGLERESP* single = OCSP_basic_add1_status(bs.get(), id.get(), s.status,  // borrowed from bs
                                                         is_revoked ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : 0,
                                                         is_revoked ? revoked.get() : nullptr, this_upd.get(),
                                                         next_upd.get());
        BOOST_REQUIRE(single);
        add_unknown_extension(extra, bs.get(), single);
    }
    BOOST_REQUIRE(OCSP_basic_sign(bs.get(), signer, key, EVP_sha256(), nullptr, flags) == 1);
    ossl::OcspResponsePtr resp(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs.get()));  // encodes a copy
    BOOST_REQUIRE(resp);
    return der_of(resp.get());
}

template <typename R>
void require_refused(const R& r, Code code, const std::string& words) {
    BOOST_REQUIRE_MESSAGE(!r.ok(), "accepted, expected a refusal containing \"" << words << "\"");
    BOOST_TEST_MESSAGE("refused: " << r.error().detail());
    BOOST_TEST(static_cast<int>(r.code()) == static_cast<int>(code), why(r));
    BOOST_TEST(r.error().detail().find(words) != std::string::npos,
               "detail \"" << r.error().detail() << "\" lacks \"" << words << "\"");
}

double elapsed_ms(Clock::time_point since) {
    return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

}  // namespace

// =================================================================== http_fetch

BOOST_AUTO_TEST_SUITE(http_fetch)

BOOST_AUTO_TEST_CASE(only_http_and_https_urls_with_a_host_are_fetchable) {
    for (const char* ok : {"http://127.0.0.1:18888/", "https://ocsp.example.com", "HTTP://Example.com/x?y#z",
                           "http://[::1]:8080/ocsp", "http://host:65535/"})
        BOOST_TEST(is_fetchable_url(ok), ok);
    for (const char* bad :
         {"", "http://", "http:///path", "https://:80/", "http://user@host/", "http://user:pw@host/",
          "http://a b/", "http://host/\n", "http://host/a\tb", "http://ho\x7fst/", "http://h\xc3\xa9/", "file:///etc/passwd",
          "ftp://host/x", "gopher://host/", "ldap://host/", "//host/x", "http:host", "http://host:0/", "http://host:99999/",
          "http://host:8o/", "http://[::1/", "http://[]/", "http://[::1]x/", "http://good\\@evil/", " http://host/"})
        BOOST_TEST(!is_fetchable_url(bad), "accepted: " << bad);
}

BOOST_AUTO_TEST_CASE(get_returns_the_body_of_a_200) {
    auto r = http_get(url(port_files, "/hello.txt"), FetchLimits{});
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(*r == "hello, revocation\n");
}

BOOST_AUTO_TEST_CASE(get_of_a_missing_file_is_refused_with_its_status) {
    require_refused(http_get(url(port_files, "/nothing-here.crl"), FetchLimits{}), Code::io, "HTTP status 404");
}

BOOST_AUTO_TEST_CASE(status_other_than_200_is_refused) {
    for (int status : {204, 500, 503})
        require_refused(http_get(url(port_hostile, "/status/" + std::to_string(status)), FetchLimits{}), Code::io,
                        "HTTP status " + std::to_string(status));
}

BOOST_AUTO_TEST_CASE(body_at_the_limit_passes_one_byte_more_is_refused) {
    write_file(world->dir + "/files/1000.bin", std::string(1000, 'z'));
    auto at = http_get(url(port_files, "/1000.bin"), FetchLimits{2000ms, 1000});
    BOOST_REQUIRE_MESSAGE(at.ok(), why(at));
    BOOST_TEST(at->size() == 1000u);
    require_refused(http_get(url(port_files, "/1000.bin"), FetchLimits{2000ms, 999}), Code::io,
                    "body larger than 999 bytes");
}

BOOST_AUTO_TEST_CASE(oversized_body_without_content_length_is_cut_off) {
    require_refused(http_get(url(port_hostile, "/chunked/300000"), FetchLimits{2000ms, 65536}), Code::io,
                    "body larger than 65536 bytes");
}

BOOST_AUTO_TEST_CASE(redirect_is_not_followed_and_named) {
    require_refused(http_get(url(port_hostile, "/redirect"), FetchLimits{}), Code::io,
                    "redirect to " + url(port_hostile, "/file/elsewhere") + " not followed");
}

BOOST_AUTO_TEST_CASE(stalled_server_times_out_within_the_limit) {
    const auto t0 = Clock::now();
    require_refused(http_get(url(port_hostile, "/stall"), FetchLimits{500ms, 1000}), Code::io,
                    "timed out after 500 ms");
    const double ms = elapsed_ms(t0);
    BOOST_TEST(ms >= 400.0);
    BOOST_TEST(ms < 1000.0, "took " << ms << " ms");
}

BOOST_AUTO_TEST_CASE(reply_that_is_not_http_is_refused) {
    require_refused(http_get(url(port_hostile, "/garbage"), FetchLimits{}), Code::io,
                    "GET " + url(port_hostile, "/garbage") + ": reply is not HTTP");
}

BOOST_AUTO_TEST_CASE(body_cut_short_is_refused) {
    write_file(world->dir + "/canned/cut.bin", std::string(4000, 'c'));
    require_refused(http_get(url(port_hostile, "/cut/cut.bin"), FetchLimits{}), Code::io, "before the whole body");
}

BOOST_AUTO_TEST_CASE(other_schemes_are_refused_without_connecting) {
    silent_connections();
    const std::string hp = "127.0.0.1:" + std::to_string(port_silent);
    for (const std::string& u : {std::string("file:///etc/passwd"), "ftp://" + hp + "/x", "gopher://" + hp + "/x",
                                 "dict://" + hp + "/x", "telnet://" + hp, "scp://" + hp + "/x"}) {
        require_refused(http_get(u, FetchLimits{}), Code::io, "not an http:// or https:// URL");
        require_refused(http_post(u, "text/plain", "x", FetchLimits{}), Code::io, "POST " + u);
    }
    BOOST_TEST(silent_connections() == 0);
}

BOOST_AUTO_TEST_CASE(userinfo_is_refused_without_connecting) {
    silent_connections();
    require_refused(http_get("http://user:secret@127.0.0.1:" + std::to_string(port_silent) + "/", FetchLimits{}),
                    Code::io, "not an http:// or https:// URL");
    BOOST_TEST(silent_connections() == 0);
}

BOOST_AUTO_TEST_CASE(proxy_from_the_environment_is_ignored) {
    // A proxy that is not there: used, it would make the fetch fail.
    ::setenv("http_proxy", url(port_down).c_str(), 1);
    ::setenv("HTTP_PROXY", url(port_down).c_str(), 1);
    ::setenv("ALL_PROXY", url(port_down).c_str(), 1);
    auto r = http_get(url(port_files, "/hello.txt"), FetchLimits{});
    ::unsetenv("http_proxy");
    ::unsetenv("HTTP_PROXY");
    ::unsetenv("ALL_PROXY");
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
}

BOOST_AUTO_TEST_CASE(post_sends_its_content_type_and_body_at_once) {
    const std::string body(2000, 'b');  // above libcurl's 1024-byte Expect: 100-continue threshold
    auto r = http_post(url(port_hostile, "/echo"), "application/ocsp-request", body, FetchLimits{});
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(*r == "application/ocsp-request||" + body);
}

BOOST_AUTO_TEST_CASE(nothing_listening_is_connection_refused_at_once) {
    const auto t0 = Clock::now();
    require_refused(http_get(url(port_down), FetchLimits{}), Code::io, "GET " + url(port_down) + ": connection refused");
    BOOST_TEST(elapsed_ms(t0) < 500.0);
}

BOOST_AUTO_TEST_CASE(https_to_a_plain_http_server_is_refused) {
    auto r = http_get("https://127.0.0.1:" + std::to_string(port_files) + "/hello.txt", FetchLimits{});
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST_MESSAGE(r.error().detail());
    BOOST_TEST(static_cast<int>(r.code()) == static_cast<int>(Code::io));
}

BOOST_AUTO_TEST_SUITE_END()

// ========================================================================= ocsp

BOOST_AUTO_TEST_SUITE(ocsp)

BOOST_AUTO_TEST_CASE(good_certificate_from_the_delegated_responder) {
    Pki p;
    const std::time_t t = now();
    auto r = ocsp_query(url(port_delegated), p.alice.get(), p.issuer.get(), settings(), t);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(static_cast<int>(r->status) == static_cast<int>(OcspStatus::good));
    BOOST_TEST(r->signer == "delegated responder CN=ocsp-responder,O=Example Corp");
    BOOST_TEST(std::abs(r->this_update - t) < 120);
    BOOST_TEST(r->next_update == r->this_update + 3600);  // -nmin 60
    BOOST_TEST(r->expires == r->next_update);
    BOOST_TEST(r->revoked_at == 0);
    BOOST_TEST(!r->der.empty());
}

BOOST_AUTO_TEST_CASE(revoked_certificate_reports_time_and_key_compromise) {
    Pki p;
    auto r = ocsp_query(url(port_delegated), p.revoked.get(), p.issuer.get(), settings(), now());
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(static_cast<int>(r->status) == static_cast<int>(OcspStatus::revoked));
    BOOST_TEST(r->reason == OCSP_REVOKED_STATUS_KEYCOMPROMISE);
    BOOST_TEST(r->revoked_at > 0);
    BOOST_TEST(r->revoked_at <= now());
}

BOOST_AUTO_TEST_CASE(serial_the_responder_does_not_know_is_unknown) {
    Pki p;
    auto r = ocsp_query(url(port_unknown), p.alice.get(), p.issuer.get(), settings(), now());
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(static_cast<int>(r->status) == static_cast<int>(OcspStatus::unknown));
}

BOOST_AUTO_TEST_CASE(issuing_ca_signing_itself_is_accepted_by_name_and_by_key_hash) {
    Pki p;
    for (int port : {port_ca, port_ca_keyid}) {
        auto r = ocsp_query(url(port), p.alice.get(), p.issuer.get(), settings(), now());
        BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
        BOOST_TEST(static_cast<int>(r->status) == static_cast<int>(OcspStatus::good));
        BOOST_TEST(r->signer == "the issuing CA");
    }
}

BOOST_AUTO_TEST_CASE(delegated_responder_without_ocsp_signing_is_refused) {
    Pki p;
    require_refused(ocsp_query(url(port_noeku), p.alice.get(), p.issuer.get(), settings(), now()),
                    Code::cert_revocation_unknown, "OCSP response from " + url(port_noeku) + ": delegated responder "
                                                   "certificate lacks id-kp-OCSPSigning");
}

// Issue 13, defect 5 (RFC 6960 4.2.2.2, RFC 5280 4.2): neither a "good" nor a
// "revoked" from these responders is believed.
BOOST_AUTO_TEST_CASE(delegated_responder_whose_key_usage_lacks_digital_signature_is_refused) {
    Pki p;
    for (X509* c : {p.alice.get(), p.revoked.get()})
        require_refused(ocsp_query(url(port_badku), c, p.issuer.get(), settings(), now()),
                        Code::cert_revocation_unknown, "keyUsage does not allow digitalSignature");
}

BOOST_AUTO_TEST_CASE(delegated_responder_with_an_unknown_critical_extension_is_refused) {
    Pki p;
    for (X509* c : {p.alice.get(), p.revoked.get()})
        require_refused(ocsp_query(url(port_critext), c, p.issuer.get(), settings(), now()),
                        Code::cert_revocation_unknown, "unknown critical extension (1.2.3.4.99)");
}

BOOST_AUTO_TEST_CASE(response_with_an_unknown_critical_extension_is_refused) {
    Pki p;
    auto key = load_key("ca/issuing/ca.key");
    for (auto status : {V_OCSP_CERTSTATUS_GOOD, V_OCSP_CERTSTATUS_REVOKED}) {
        std::string der = forge({{p.alice.get(), status}}, p.issuer.get(), p.issuer.get(), key.get(), 0,
                                Extra::response_critical);
        require_refused(ocsp_check_response(der, p.alice.get(), p.issuer.get(), settings(), now()),
                        Code::cert_revocation_unknown, "unknown critical response extension 1.2.3.4.99");
        der = forge({{p.alice.get(), status}}, p.issuer.get(), p.issuer.get(), key.get(), 0, Extra::single_critical);
        require_refused(ocsp_check_response(der, p.alice.get(), p.issuer.get(), settings(), now()),
                        Code::cert_revocation_unknown, "unknown critical singleExtension 1.2.3.4.99");
    }
    // Not critical: ignored, as RFC 5280 4.2 allows.
    const std::string der = forge({{p.alice.get()}}, p.issuer.get(), p.issuer.get(), key.get(), 0,
                                  Extra::response_noncritical);
    auto r = ocsp_check_response(der, p.alice.get(), p.issuer.get(), settings(), now());
    BOOST_TEST(r.ok(), why(r));
}

BOOST_AUTO_TEST_CASE(the_answer_says_who_signed_and_whether_the_responder_carries_ocsp_nocheck) {
    Pki p;
    auto r = ocsp_query(url(port_delegated), p.alice.get(), p.issuer.get(), settings(), now());
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(!r->responder_der.empty());
    BOOST_TEST(r->responder_nocheck);
    r = ocsp_query(url(port_checked), p.alice.get(), p.issuer.get(), settings(), now());
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));  // its own status is the caller's (revocation.cpp)
    BOOST_TEST(!r->responder_der.empty());
    BOOST_TEST(!r->responder_nocheck);
    r = ocsp_query(url(port_ca), p.alice.get(), p.issuer.get(), settings(), now());
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(r->responder_der.empty());
}

BOOST_AUTO_TEST_CASE(response_signed_with_sha1_is_refused) {
    Pki p;
    require_refused(ocsp_query(url(port_sha1), p.alice.get(), p.issuer.get(), settings(), now()),
                    Code::cert_revocation_unknown, "signed with a weak or unknown algorithm");
}

BOOST_AUTO_TEST_CASE(responder_certified_by_the_lookalike_ca_is_refused) {
    Pki p;
    require_refused(ocsp_query(url(port_foreign), p.alice.get(), p.issuer.get(), settings(), now()),
                    Code::cert_revocation_unknown, "not signed by the issuing CA");
}

BOOST_AUTO_TEST_CASE(lookalike_ca_with_the_issuers_name_signing_directly_is_refused) {
    Pki p;
    require_refused(ocsp_query(url(port_lookalike), p.alice.get(), p.issuer.get(), settings(), now()),
                    Code::cert_revocation_unknown, "signature does not verify with the key of the issuing CA");
}

BOOST_AUTO_TEST_CASE(delegated_responder_missing_from_the_response_is_refused) {
    Pki p;
    require_refused(ocsp_query(url(port_nocerts), p.alice.get(), p.issuer.get(), settings(), now()),
                    Code::cert_revocation_unknown, "signer is neither the issuing CA nor a delegated responder");
}

BOOST_AUTO_TEST_CASE(answer_about_another_certificate_is_refused) {
    Pki p;
    const std::string u = canned("bob.der", raw_response(port_delegated, p.bob.get(), p.issuer.get(), EVP_sha1(), false));
    require_refused(ocsp_query(u, p.alice.get(), p.issuer.get(), settings(false), now()), Code::cert_revocation_unknown,
                    "no SingleResponse for this certificate");
}

BOOST_AUTO_TEST_CASE(replayed_answer_with_another_nonce_is_refused) {
    Pki p;
    const std::string u =
        canned("other-nonce.der", raw_response(port_delegated, p.alice.get(), p.issuer.get(), EVP_sha1(), true));
    require_refused(ocsp_query(u, p.alice.get(), p.issuer.get(), settings(true), now()), Code::cert_revocation_unknown,
                    "nonce does not match");
}

BOOST_AUTO_TEST_CASE(answer_without_nonce_is_refused_when_one_was_sent) {
    Pki p;
    const std::string u =
        canned("no-nonce.der", raw_response(port_delegated, p.alice.get(), p.issuer.get(), EVP_sha1(), false));
    require_refused(ocsp_query(u, p.alice.get(), p.issuer.get(), settings(true), now()), Code::cert_revocation_unknown,
                    "nonce missing");
}

BOOST_AUTO_TEST_CASE(answer_without_nonce_is_accepted_when_nonces_are_off) {
    Pki p;
    const std::string u =
        canned("no-nonce-ok.der", raw_response(port_delegated, p.alice.get(), p.issuer.get(), EVP_sha1(), false));
    auto r = ocsp_query(u, p.alice.get(), p.issuer.get(), settings(false), now());
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(static_cast<int>(r->status) == static_cast<int>(OcspStatus::good));
}

BOOST_AUTO_TEST_CASE(sha2_certids_are_honoured) {
    Pki p;
    for (const EVP_MD* md : {EVP_sha256(), EVP_sha384(), EVP_sha512()}) {
        const std::string der = raw_response(port_delegated, p.revoked.get(), p.issuer.get(), md, false);
        auto r = ocsp_check_response(der, p.revoked.get(), p.issuer.get(), settings(), now());
        BOOST_REQUIRE_MESSAGE(r.ok(), EVP_MD_get0_name(md) << ": " << why(r));
        BOOST_TEST(static_cast<int>(r->status) == static_cast<int>(OcspStatus::revoked));
    }
}

BOOST_AUTO_TEST_CASE(md5_certid_is_not_honoured) {
    Pki p;
    const std::string der = raw_response(port_delegated, p.alice.get(), p.issuer.get(), EVP_md5(), false);
    require_refused(ocsp_check_response(der, p.alice.get(), p.issuer.get(), settings(), now()),
                    Code::cert_revocation_unknown, "stored OCSP response: no SingleResponse for this certificate");
}

BOOST_AUTO_TEST_CASE(tampered_signature_is_refused) {
    Pki p;
    std::string der = raw_response(port_delegated, p.alice.get(), p.issuer.get(), EVP_sha1(), false);
    // Find the signature bytes in the DER and flip one.
    const auto* q = reinterpret_cast<const unsigned char*>(der.data());
    ossl::OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &q, static_cast<long>(der.size())));
    ossl::OcspBasicRespPtr bs(OCSP_response_get1_basic(resp.get()));
    BOOST_REQUIRE(bs);
    const ASN1_OCTET_STRING* sig = OCSP_resp_get0_signature(bs.get());  // borrowed
    const std::string sig_bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(sig)),
                                static_cast<std::size_t>(ASN1_STRING_length(sig)));
    const auto at = der.find(sig_bytes);
    BOOST_REQUIRE(at != std::string::npos);
    der[at + sig_bytes.size() - 1] ^= 0x01;
    require_refused(ocsp_check_response(der, p.alice.get(), p.issuer.get(), settings(), now()),
                    Code::cert_revocation_unknown, "signature does not verify with the key of delegated responder");
}

BOOST_AUTO_TEST_CASE(unsuccessful_response_statuses_are_refused) {
    Pki p;
    const std::pair<int, const char*> cases[] = {{OCSP_RESPONSE_STATUS_TRYLATER, "responseStatus trylater"},
                                                 {OCSP_RESPONSE_STATUS_UNAUTHORIZED, "responseStatus unauthorized"},
                                                 {OCSP_RESPONSE_STATUS_INTERNALERROR, "responseStatus internalerror"},
                                                 {OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, "responseStatus malformedrequest"}};
    for (const auto& [status, words] : cases) {
        ossl::OcspResponsePtr resp(OCSP_response_create(status, nullptr));
        BOOST_REQUIRE(resp);
        const std::string u = canned("status-" + std::to_string(status), der_of(resp.get()));
        require_refused(ocsp_query(u, p.alice.get(), p.issuer.get(), settings(), now()),
                        Code::cert_revocation_unknown, words);
    }
}

BOOST_AUTO_TEST_CASE(bodies_that_are_not_one_whole_ocsp_response_are_refused) {
    Pki p;
    const std::string good = raw_response(port_delegated, p.alice.get(), p.issuer.get(), EVP_sha1(), false);
    const std::pair<std::string, std::string> cases[] = {
        {"garbage", std::string("\x30\x82\xff\xffjunk", 8)},
        {"empty", ""},
        {"truncated", good.substr(0, good.size() / 2)},
        {"trailing", good + std::string("\x00", 1)},
        {"crl", read_file(fixtures() + "/pki/issuing.crl.der")},
    };
    for (const auto& [name, der] : cases) {
        BOOST_TEST_CONTEXT(name) {
            require_refused(ocsp_query(canned(name, der), p.alice.get(), p.issuer.get(), settings(false), now()),
                            Code::cert_revocation_unknown, "not a DER OCSPResponse");
        }
    }
}

BOOST_AUTO_TEST_CASE(transport_failures_are_io_errors_naming_the_url) {
    Pki p;
    write_file(world->dir + "/canned/cut-ocsp.bin", raw_response(port_delegated, p.alice.get(), p.issuer.get(),
                                                                 EVP_sha1(), false));
    const std::pair<std::string, std::string> cases[] = {
        {url(port_hostile, "/status/404"), "HTTP status 404"},
        {url(port_hostile, "/redirect"), "redirect to " + url(port_hostile, "/file/elsewhere") + " not followed"},
        {url(port_hostile, "/big/70000"), "body larger than 65536 bytes"},
        {url(port_hostile, "/chunked/70000"), "body larger than 65536 bytes"},
        {url(port_hostile, "/garbage"), "reply is not HTTP"},
        {url(port_hostile, "/cut/cut-ocsp.bin"), "connection closed before the whole body arrived"},
    };
    for (const auto& [u, words] : cases)
        require_refused(ocsp_query(u, p.alice.get(), p.issuer.get(), settings(), now()), Code::io,
                        "POST " + u + ": " + words);
}

BOOST_AUTO_TEST_CASE(responder_down_is_an_io_error_at_once) {
    Pki p;
    const auto t0 = Clock::now();
    require_refused(ocsp_query(url(port_down), p.alice.get(), p.issuer.get(), settings(), now()), Code::io,
                    "POST " + url(port_down) + ": connection refused");
    BOOST_TEST(elapsed_ms(t0) < 500.0, "took " << elapsed_ms(t0) << " ms");
}

BOOST_AUTO_TEST_CASE(stalled_responder_times_out_within_the_limit) {
    Pki p;
    OcspSettings s = settings();
    s.fetch.timeout = 700ms;
    const auto t0 = Clock::now();
    require_refused(ocsp_query(url(port_hostile, "/stall"), p.alice.get(), p.issuer.get(), s, now()), Code::io,
                    "timed out after 700 ms");
    BOOST_TEST(elapsed_ms(t0) < 1400.0, "took " << elapsed_ms(t0) << " ms");
}

BOOST_AUTO_TEST_CASE(expires_is_the_earlier_of_next_update_and_max_age) {
    Pki p;
    OcspSettings s = settings();
    s.max_age = 600s;  // shorter than the responder's -nmin 60
    auto r = ocsp_query(url(port_delegated), p.alice.get(), p.issuer.get(), s, now());
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(r->expires == r->this_update + 600);
    // The same answer replayed after max_age: still well-formed, expired for the caller.
    const std::time_t later = r->this_update + 600 + 1;
    auto again = ocsp_check_response(r->der, p.alice.get(), p.issuer.get(), s, later);
    BOOST_REQUIRE_MESSAGE(again.ok(), why(again));
    BOOST_TEST(again->expires < later);
    s.max_age = std::chrono::hours(24 * 7);
    auto week = ocsp_check_response(r->der, p.alice.get(), p.issuer.get(), s, later);
    BOOST_REQUIRE(week.ok());
    BOOST_TEST(week->expires == week->next_update);
}

BOOST_AUTO_TEST_CASE(this_update_ahead_of_the_clock_is_refused) {
    Pki p;
    auto r = ocsp_query(url(port_delegated), p.alice.get(), p.issuer.get(), settings(), now());
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    // Within the 5-minute allowance, then just beyond it.
    BOOST_TEST(ocsp_check_response(r->der, p.alice.get(), p.issuer.get(), settings(), r->this_update - 300).ok());
    require_refused(ocsp_check_response(r->der, p.alice.get(), p.issuer.get(), settings(), r->this_update - 301),
                    Code::cert_revocation_unknown, "thisUpdate is in the future");
}

BOOST_AUTO_TEST_CASE(delegated_responder_outside_its_validity_is_refused) {
    Pki p;
    auto r = ocsp_query(url(port_delegated), p.alice.get(), p.issuer.get(), settings(), now());
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    require_refused(ocsp_check_response(r->der, p.alice.get(), p.issuer.get(), settings(), now() + 400 * 86400),
                    Code::cert_revocation_unknown, "delegated responder certificate has expired");
    require_refused(ocsp_check_response(r->der, p.alice.get(), p.issuer.get(), settings(), now() - 3 * 86400),
                    Code::cert_revocation_unknown, "delegated responder certificate is not yet valid");
}

BOOST_AUTO_TEST_CASE(stored_response_is_checked_again_without_nonce) {
    Pki p;
    auto r = ocsp_query(url(port_delegated), p.revoked.get(), p.issuer.get(), settings(true), now());
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    auto again = ocsp_check_response(r->der, p.revoked.get(), p.issuer.get(), settings(true), now());
    BOOST_REQUIRE_MESSAGE(again.ok(), why(again));
    BOOST_TEST(static_cast<int>(again->status) == static_cast<int>(OcspStatus::revoked));
    BOOST_TEST(again->der == r->der);
    // Stored, but for another certificate or another issuer: refused.
    require_refused(ocsp_check_response(r->der, p.alice.get(), p.issuer.get(), settings(), now()),
                    Code::cert_revocation_unknown, "stored OCSP response: no SingleResponse");
    require_refused(ocsp_check_response(r->der, p.revoked.get(), p.root.get(), settings(), now()),
                    Code::cert_revocation_unknown, "not signed by the issuing CA");
}

BOOST_AUTO_TEST_CASE(stored_response_larger_than_the_limit_is_refused) {
    Pki p;
    OcspSettings s = settings();
    s.fetch.max_size = 100;
    const std::string der = raw_response(port_delegated, p.alice.get(), p.issuer.get(), EVP_sha1(), false);
    require_refused(ocsp_check_response(der, p.alice.get(), p.issuer.get(), s, now()), Code::cert_revocation_unknown,
                    "larger than 100 bytes");
}

BOOST_AUTO_TEST_CASE(forged_by_the_issuing_ca_baseline_is_accepted) {
    Pki p;
    auto key = load_key("ca/issuing/ca.key");
    const std::string der = forge({{p.alice.get()}}, p.issuer.get(), p.issuer.get(), key.get());
    auto r = ocsp_check_response(der, p.alice.get(), p.issuer.get(), settings(), now());
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(r->signer == "the issuing CA");
}

BOOST_AUTO_TEST_CASE(our_certificate_is_found_among_several) {
    Pki p;
    auto key = load_key("ca/issuing/ca.key");
    const std::string der =
        forge({{p.bob.get()}, {p.alice.get(), V_OCSP_CERTSTATUS_REVOKED}, {p.revoked.get(), V_OCSP_CERTSTATUS_GOOD}},
              p.issuer.get(), p.issuer.get(), key.get());
    auto r = ocsp_check_response(der, p.alice.get(), p.issuer.get(), settings(), now());
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(static_cast<int>(r->status) == static_cast<int>(OcspStatus::revoked));
    BOOST_TEST(r->reason == OCSP_REVOKED_STATUS_KEYCOMPROMISE);
}

BOOST_AUTO_TEST_CASE(two_answers_for_one_certificate_are_refused) {
    Pki p;
    auto key = load_key("ca/issuing/ca.key");
    const std::string der = forge({{p.alice.get(), V_OCSP_CERTSTATUS_GOOD}, {p.alice.get(), V_OCSP_CERTSTATUS_REVOKED}},
                                  p.issuer.get(), p.issuer.get(), key.get());
    require_refused(ocsp_check_response(der, p.alice.get(), p.issuer.get(), settings(), now()),
                    Code::cert_revocation_unknown, "several SingleResponses for this certificate");
}

BOOST_AUTO_TEST_CASE(next_update_before_this_update_is_refused) {
    Pki p;
    auto key = load_key("ca/issuing/ca.key");
    Single s{p.alice.get()};
    s.this_update = -60;
    s.next_update = -120;
    const std::string der = forge({s}, p.issuer.get(), p.issuer.get(), key.get());
    require_refused(ocsp_check_response(der, p.alice.get(), p.issuer.get(), settings(), now()),
                    Code::cert_revocation_unknown, "nextUpdate unreadable or before thisUpdate");
}

BOOST_AUTO_TEST_CASE(without_next_update_max_age_alone_sets_expiry) {
    Pki p;
    auto key = load_key("ca/issuing/ca.key");
    Single s{p.alice.get()};
    s.next_update.reset();
    const std::string der = forge({s}, p.issuer.get(), p.issuer.get(), key.get());
    auto r = ocsp_check_response(der, p.alice.get(), p.issuer.get(), settings(), now());
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(r->next_update == 0);
    BOOST_TEST(r->expires == r->this_update + 7 * 24 * 3600);
}

BOOST_AUTO_TEST_CASE(delegated_responder_named_by_key_hash_is_accepted) {
    Pki p;
    auto responder = load_cert("pki/ocsp-responder.pem");
    auto key = load_key("ca/ocsp-responder.key");
    const std::string der = forge({{p.alice.get()}}, p.issuer.get(), responder.get(), key.get(), OCSP_RESPID_KEY);
    auto r = ocsp_check_response(der, p.alice.get(), p.issuer.get(), settings(), now());
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(r->signer == "delegated responder CN=ocsp-responder,O=Example Corp");
}

BOOST_AUTO_TEST_CASE(root_ca_answering_for_the_issuing_cas_certificates_is_refused) {
    // The root is a CA the caller trusts, but not the one that issued alice.
    Pki p;
    auto key = load_key("ca/root/ca.key");
    const std::string der = forge({{p.alice.get()}}, p.issuer.get(), p.root.get(), key.get());
    require_refused(ocsp_check_response(der, p.alice.get(), p.issuer.get(), settings(), now()),
                    Code::cert_revocation_unknown, "not signed by the issuing CA");
}

BOOST_AUTO_TEST_CASE(missing_certificate_or_issuer_is_an_internal_error) {
    Pki p;
    BOOST_TEST(static_cast<int>(ocsp_query(url(port_delegated), nullptr, p.issuer.get(), settings(), now()).code()) ==
               static_cast<int>(Code::internal));
    BOOST_TEST(static_cast<int>(ocsp_check_response("x", p.alice.get(), nullptr, settings(), now()).code()) ==
               static_cast<int>(Code::internal));
}

BOOST_AUTO_TEST_CASE(responder_url_comes_from_the_first_fetchable_aia_entry) {
    Pki p;
    BOOST_TEST(ocsp_url_of(p.alice.get()) == "http://127.0.0.1:18888/");
    BOOST_TEST(ocsp_url_of(p.issuer.get()) == "http://127.0.0.1:18889/");
    BOOST_TEST(ocsp_url_of(p.root.get()) == "");  // no authorityInfoAccess
    BOOST_TEST(ocsp_url_of(nullptr) == "");

    auto with_aia = [](const char* value) {
        auto x = certgen::Builder().subject("CN", "aia").build_x509();
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_info_access, value);  // owned
        BOOST_REQUIRE_MESSAGE(ext, value);
        BOOST_REQUIRE(X509_add_ext(x.get(), ext, -1) == 1);  // adds a copy
        X509_EXTENSION_free(ext);
        return x;
    };
    BOOST_TEST(ocsp_url_of(with_aia("OCSP;URI:ftp://o/,OCSP;URI:http://u:p@o/,caIssuers;URI:http://ca/,"
                                    "OCSP;URI:https://ocsp.example/")
                               .get()) == "https://ocsp.example/");
    BOOST_TEST(ocsp_url_of(with_aia("OCSP;URI:ldap://o/,caIssuers;URI:http://ca/").get()) == "");
}

// Not a check: the latency figures of bench/README.md, printed with
// --log_level=message.
BOOST_AUTO_TEST_CASE(latency_of_query_and_of_stored_check) {
    Pki p;
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    std::vector<double> query, stored;
    std::string der;
    for (int i = 0; i < 50; ++i) {
        const auto t0 = Clock::now();
        auto r = ocsp_query(url(port_delegated), p.alice.get(), p.issuer.get(), settings(), now());
        query.push_back(elapsed_ms(t0));
        BOOST_REQUIRE(r.ok());
        der = r->der;
    }
    for (int i = 0; i < 200; ++i) {
        const auto t0 = Clock::now();
        auto r = ocsp_check_response(der, p.alice.get(), p.issuer.get(), settings(), now());
        stored.push_back(elapsed_ms(t0));
        BOOST_REQUIRE(r.ok());
    }
    BOOST_TEST_MESSAGE("ocsp_query (local openssl ocsp, new connection each): median " << median(query)
                                                                                     << " ms of 50");
    BOOST_TEST_MESSAGE("ocsp_check_response (stored DER): median " << median(stored) * 1000.0 << " us of 200");
}

BOOST_AUTO_TEST_SUITE_END()
