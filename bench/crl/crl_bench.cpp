// Benchmark of the CRL index (src/crl_index.hpp), run by hand through
// bench/crl/run. One subcommand per process, so that each peak RSS is its own:
//
//   crl_bench gen N DIR           a CA (EC P-256 key, self-signed ca.pem) and a CRL of
//                                 N entries (random 16-byte serials, reasonCode on each)
//                                 signed with ecdsa-with-SHA256: DIR/crl.der, DIR/serials.bin
//   crl_bench build DIR           build_crl_index(crl.der, ca.pem) -> DIR/index.bin;
//                                 prints the time and the peak RSS
//   crl_bench openssl DIR         d2i_X509_CRL + X509_CRL_verify of the same CRL, for comparison
//   crl_bench find DIR LOOKUPS    mmap index.bin, open(), then LOOKUPS finds (half revoked
//                                 serials, half random ones); prints the mean per find
//   crl_bench once DIR            what a fresh process checking one certificate pays:
//                                 mmap, open() and one find() (OpenSSL's own start-up
//                                 timed apart), and the time since main()
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "src/crl_index.hpp"
#include "src/ossl.hpp"

using namespace cardgate;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

namespace {

[[noreturn]] void die(const std::string& why) {
    std::fprintf(stderr, "crl_bench: %s\n", why.c_str());
    std::exit(1);
}

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// CPU time of this process in ms: on a loaded machine wall time also counts waiting for a core.
double cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

long peak_rss_kib() {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;  // KiB on Linux
}

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) die("cannot read " + path);
    in.seekg(0, std::ios::end);
    Bytes b(static_cast<std::size_t>(in.tellg()));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(b.size()));
    return b;
}

void write_file(const std::string& path, const Bytes& b) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!out) die("cannot write " + path);
}

void put_tlv(Bytes& out, std::uint8_t tag, const std::uint8_t* content, std::size_t n) {
    out.push_back(tag);
    if (n < 0x80) {
        out.push_back(static_cast<std::uint8_t>(n));
    } else {
        std::uint8_t len[8];
        int k = 0;
        for (std::size_t v = n; v; v >>= 8) len[k++] = static_cast<std::uint8_t>(v);
        out.push_back(static_cast<std::uint8_t>(0x80 | k));
        while (k) out.push_back(len[--k]);
    }
    out.insert(out.end(), content, content + n);
}
void put_tlv(Bytes& out, std::uint8_t tag, const Bytes& content) { put_tlv(out, tag, content.data(), content.size()); }

ossl::X509Ptr load_ca(const std::string& dir) {
    const Bytes pem = read_file(dir + "/ca.pem");
    ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    ossl::X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));  // owned
    if (!x) die("cannot parse ca.pem");
    return x;
}

int gen(std::size_t n, const std::string& dir) {
    ossl::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));  // owned
    ossl::X509Ptr ca(X509_new());
    X509* x = ca.get();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
    X509_NAME* name = X509_get_subject_name(x);  // borrowed from x
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("Example Corp"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("Bench CRL CA"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key.get());
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* ku = X509V3_EXT_conf_nid(nullptr, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    X509_add_ext(x, ku, -1);  // copies
    X509_EXTENSION_free(ku);
    if (X509_sign(x, key.get(), EVP_sha256()) <= 0) die("cannot sign the CA certificate");
    ossl::BioPtr pem(BIO_new_file((dir + "/ca.pem").c_str(), "w"));
    if (!pem || PEM_write_bio_X509(pem.get(), x) != 1) die("cannot write ca.pem");
    pem.reset();

    unsigned char* nd = nullptr;
    const int nlen = i2d_X509_NAME(name, &nd);  // allocates nd: freed below
    const Bytes issuer(nd, nd + nlen);
    OPENSSL_free(nd);

    const auto t0 = Clock::now();
    std::mt19937_64 rng(n);
    Bytes serials(n * 16), entries;
    entries.reserve(n * 52);
    static const std::uint8_t when[] = {'2', '6', '0', '1', '0', '1', '0', '0', '0', '0', '0', '0', 'Z'};
    for (std::size_t i = 0; i < n; ++i) {
        std::uint8_t* s = serials.data() + i * 16;
        for (int k = 0; k < 16; k += 8) {
            const std::uint64_t r = rng();
            std::memcpy(s + k, &r, 8);
        }
        s[0] = static_cast<std::uint8_t>((s[0] & 0x7F) | 0x01);  // positive, minimal, 16 octets
        Bytes e;
        put_tlv(e, 0x02, s, 16);
        put_tlv(e, 0x17, when, sizeof when);
        const std::uint8_t reason[] = {0x30, 0x0A, 0x06, 0x03, 0x55, 0x1D, 0x15, 0x04, 0x03, 0x0A, 0x01,
                                       static_cast<std::uint8_t>(1 + rng() % 5)};
        put_tlv(e, 0x30, reason, sizeof reason);
        put_tlv(entries, 0x30, e);
    }
    static const std::uint8_t version[] = {0x02, 0x01, 0x01};
    static const std::uint8_t alg[] = {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};
    static const std::uint8_t this_update[] = {0x17, 0x0D, '2', '6', '0', '1', '0', '2', '0', '0', '0', '0', '0', '0', 'Z'};
    static const std::uint8_t next_update[] = {0x17, 0x0D, '2', '6', '0', '2', '0', '2', '0', '0', '0', '0', '0', '0', 'Z'};
    static const std::uint8_t exts[] = {0xA0, 0x0E, 0x30, 0x0C, 0x30, 0x0A, 0x06, 0x03, 0x55, 0x1D, 0x14, 0x04, 0x03, 0x02, 0x01, 0x2A};
    Bytes body;
    body.insert(body.end(), version, version + sizeof version);
    body.insert(body.end(), alg, alg + sizeof alg);
    body.insert(body.end(), issuer.begin(), issuer.end());
    body.insert(body.end(), this_update, this_update + sizeof this_update);
    body.insert(body.end(), next_update, next_update + sizeof next_update);
    put_tlv(body, 0x30, entries);
    entries = Bytes();
    body.insert(body.end(), exts, exts + sizeof exts);
    Bytes tbs;
    put_tlv(tbs, 0x30, body);
    body = Bytes();

    ossl::EvpMdCtxPtr md(EVP_MD_CTX_new());
    std::size_t siglen = 0;
    if (EVP_DigestSignInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, key.get(), nullptr) != 1 ||
        EVP_DigestSign(md.get(), nullptr, &siglen, tbs.data(), tbs.size()) != 1)
        die("cannot sign the CRL");
    Bytes bits(siglen + 1);
    if (EVP_DigestSign(md.get(), bits.data() + 1, &siglen, tbs.data(), tbs.size()) != 1) die("cannot sign the CRL");
    bits.resize(siglen + 1);
    Bytes all = tbs;
    all.insert(all.end(), alg, alg + sizeof alg);
    put_tlv(all, 0x03, bits);
    Bytes crl;
    put_tlv(crl, 0x30, all);
    write_file(dir + "/crl.der", crl);
    write_file(dir + "/serials.bin", serials);
    std::printf("gen: %zu entries, CRL %zu bytes, %.0f ms\n", n, crl.size(), ms_since(t0));
    return 0;
}

int build(const std::string& dir) {
    const auto ca = load_ca(dir);
    const Bytes crl = read_file(dir + "/crl.der");
    const long rss_before = peak_rss_kib();
    const auto t0 = Clock::now();
    const double c0 = cpu_ms();
    auto r = build_crl_index(crl, ca.get());
    const double ms = ms_since(t0), cpu = cpu_ms() - c0;
    if (!r) die(r.error().message());
    write_file(dir + "/index.bin", *r);
    std::printf("build: CRL %zu bytes -> index %zu bytes, %.0f ms (CPU %.0f ms), peak RSS %ld KiB (%ld KiB before the build, with the CRL read)\n",
                crl.size(), r->size(), ms, cpu, peak_rss_kib(), rss_before);
    return 0;
}

int openssl(const std::string& dir) {
    const auto ca = load_ca(dir);
    const Bytes crl = read_file(dir + "/crl.der");
    const auto t0 = Clock::now();
    const double c0 = cpu_ms();
    const unsigned char* p = crl.data();
    ossl::X509CrlPtr x(d2i_X509_CRL(nullptr, &p, static_cast<long>(crl.size())));  // owned
    if (!x) die("d2i_X509_CRL failed");
    const double parse_ms = ms_since(t0);
    const int ok = X509_CRL_verify(x.get(), X509_get0_pubkey(ca.get()));
    // The first lookup sorts the entries (OpenSSL sorts lazily).
    X509_REVOKED* rev = nullptr;
    ASN1_INTEGER* one = ASN1_INTEGER_new();
    ASN1_INTEGER_set(one, 1);
    X509_CRL_get0_by_serial(x.get(), &rev, one);
    ASN1_INTEGER_free(one);
    std::printf("openssl: d2i_X509_CRL %.0f ms, +verify +first lookup %.0f ms (CPU %.0f ms) (verify %s), peak RSS %ld KiB\n",
                parse_ms, ms_since(t0), cpu_ms() - c0, ok == 1 ? "ok" : "FAILED", peak_rss_kib());
    return 0;
}

struct Mapped {
    const std::uint8_t* p = nullptr;
    std::size_t n = 0;
};

Mapped map_index(const std::string& dir) {
    const int fd = ::open((dir + "/index.bin").c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || fstat(fd, &st) != 0) die("cannot open index.bin");
    void* m = mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (m == MAP_FAILED) die("mmap failed");
    return {static_cast<const std::uint8_t*>(m), static_cast<std::size_t>(st.st_size)};
}

int find(const std::string& dir, std::size_t lookups) {
    const Mapped m = map_index(dir);
    const Bytes serials = read_file(dir + "/serials.bin");
    const std::size_t n = serials.size() / 16;
    auto v = CrlIndexView::open({m.p, m.n});
    if (!v) die(v.error().message());
    std::mt19937_64 rng(42);
    std::vector<Bytes> keys;
    for (std::size_t i = 0; i < lookups; ++i) {
        if (i % 2 == 0) {
            const std::uint8_t* s = serials.data() + (rng() % n) * 16;
            keys.emplace_back(s, s + 16);
        } else {
            Bytes k(16);
            for (auto& b : k) b = static_cast<std::uint8_t>(rng());
            k[0] = static_cast<std::uint8_t>((k[0] & 0x7F) | 0x01);
            keys.push_back(k);
        }
    }
    std::size_t hits = 0;
    const auto t0 = Clock::now();
    const double c0 = cpu_ms();
    for (const auto& k : keys) {
        auto r = v->find(k);
        if (!r) die(r.error().message());
        hits += r->has_value();
    }
    const double ms = ms_since(t0), cpu = cpu_ms() - c0;
    std::printf("find: %zu lookups (%zu revoked), %.2f us per find (CPU %.2f us)\n", lookups, hits,
                ms * 1000 / static_cast<double>(lookups), cpu * 1000 / static_cast<double>(lookups));
    return 0;
}

int once(const std::string& dir, Clock::time_point start) {
    const Mapped m = map_index(dir);
    // One revoked serial from the middle of the list: stands for the certificate.
    std::uint8_t serial[16];
    const int fd = ::open((dir + "/serials.bin").c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || fstat(fd, &st) != 0 ||
        pread(fd, serial, sizeof serial, st.st_size / 32 * 16) != static_cast<ssize_t>(sizeof serial))
        die("cannot read serials.bin");
    ::close(fd);
    // OpenSSL's first use (loading its config and default provider), which
    // any process that checks a certificate pays anyway: timed apart.
    const auto ti = Clock::now();
    EVP_MD_free(EVP_MD_fetch(nullptr, "SHA256", nullptr));
    const double init_ms = ms_since(ti);
    const auto t0 = Clock::now();
    auto v = CrlIndexView::open({m.p, m.n});
    if (!v) die(v.error().message());
    const double open_ms = ms_since(t0);
    auto r = v->find(serial);
    if (!r || !r->has_value()) die("the serial is not found");
    std::printf("once: OpenSSL init %.3f ms, then open %.3f ms, open+find %.3f ms; since main %.3f ms, peak RSS %ld KiB\n",
                init_ms, open_ms, ms_since(t0), ms_since(start), peak_rss_kib());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const auto start = Clock::now();
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "gen" && argc == 4) return gen(std::strtoull(argv[2], nullptr, 10), argv[3]);
    if (cmd == "build" && argc == 3) return build(argv[2]);
    if (cmd == "openssl" && argc == 3) return openssl(argv[2]);
    if (cmd == "find" && argc == 4) return find(argv[2], std::strtoull(argv[3], nullptr, 10));
    if (cmd == "once" && argc == 3) return once(argv[2], start);
    std::fprintf(stderr, "usage: crl_bench gen N DIR | build DIR | openssl DIR | find DIR LOOKUPS | once DIR\n");
    return 2;
}
