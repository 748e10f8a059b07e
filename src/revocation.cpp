// The per-certificate revocation decision and its caches: see revocation.hpp.
#include "revocation.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <optional>

#include "bytes.hpp"
#include "config.h"
#include "crl_index.hpp"
#include "files.hpp"
#include "http_fetch.hpp"
#include "index_file.hpp"
#include "ocsp.hpp"
#include "ossl.hpp"
#include "trust.hpp"  // format_utc
#include "x509.hpp"

namespace cardgate {
namespace {

constexpr std::uint32_t format_version = index_format_version(1, PACKAGE_VERSION);
constexpr std::string_view kind_file = "crlfile";   // the index of a trust.crls file (IndexDir::open/store)
constexpr std::string_view kind_fetch = "crlfetch";  // a downloaded CRL's index (keyed entry)
constexpr std::string_view kind_ocsp = "ocsp";       // a kept OCSP response (keyed entry)
constexpr std::int64_t keep_history = 30 * 86400;    // a kept CRL outlives its nextUpdate, for the number check
constexpr std::size_t max_url = 4096;
constexpr std::size_t max_ocsp_response = 64u << 10;
constexpr std::size_t max_cert = 64u << 10;

std::string subject_of(X509* x) { return name_to_string(X509_get_subject_name(x)); }  // get: borrowed

std::string at_depth(std::size_t depth, const std::string& subject) {
    return "depth " + std::to_string(depth) + " (" + (subject.empty() ? "<empty subject>" : subject) + ")";
}

bool is_ca(X509* x) { return (X509_get_extension_flags(x) & EXFLAG_CA) != 0; }

Sha256 sha256_of(std::string_view s) {
    Sha256 d;
    SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
    return d;
}

std::string_view view(const Sha256& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

ossl::X509Ptr x509_of(std::span<const std::uint8_t> der) {
    const unsigned char* p = der.data();
    ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (x && p != der.data() + der.size()) x.reset();
    return x;
}

// The http(s) fullName URIs of the certificate's CRL distribution points.
// A point with reasons or a cRLIssuer (a partial or an indirect CRL) is left
// out: cardgate does not judge such CRLs (crl_index.hpp refuses them too).
std::vector<std::string> crl_dp_urls(X509* x) {
    std::vector<std::string> out;
    auto free_dps = [](STACK_OF(DIST_POINT)* s) { sk_DIST_POINT_pop_free(s, DIST_POINT_free); };
    std::unique_ptr<STACK_OF(DIST_POINT), decltype(free_dps)> dps(
        static_cast<STACK_OF(DIST_POINT)*>(X509_get_ext_d2i(x, NID_crl_distribution_points, nullptr, nullptr)),
        free_dps);
    if (!dps) return out;
    for (int i = 0; i < sk_DIST_POINT_num(dps.get()); ++i) {
        const DIST_POINT* dp = sk_DIST_POINT_value(dps.get(), i);
        if (!dp->distpoint || dp->distpoint->type != 0 || dp->reasons || dp->CRLissuer) continue;
        const GENERAL_NAMES* names = dp->distpoint->name.fullname;
        for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, j);
            if (gn->type != GEN_URI) continue;
            const ASN1_IA5STRING* u = gn->d.uniformResourceIdentifier;
            std::string url(reinterpret_cast<const char*>(ASN1_STRING_get0_data(u)),
                            static_cast<std::size_t>(ASN1_STRING_length(u)));
            if (url.size() <= max_url && is_fetchable_url(url)) out.push_back(std::move(url));
        }
    }
    return out;
}

// Every CRL in a file or a download, as DER: one DER CRL, or each "X509 CRL"
// PEM block.
Result<std::vector<std::string>> split_crls(std::string_view bytes) {
    std::vector<std::string> out;
    if (bytes.find("-----BEGIN ") == std::string_view::npos) {
        out.emplace_back(bytes);
        return out;
    }
    ossl::BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    if (!bio) return Error(Code::crypto, "BIO_new_mem_buf failed");
    for (;;) {
        unsigned char* data = nullptr;
        long len = 0;
        char* name = nullptr;
        char* header = nullptr;
        if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) break;
        if (std::string_view(name) == PEM_STRING_X509_CRL)
            out.emplace_back(reinterpret_cast<const char*>(data), static_cast<std::size_t>(len));
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
    }
    ossl::last_error();  // the end of the PEM data leaves an entry on the queue
    if (out.empty()) return Error(Code::cert_revocation_unknown, "no X509 CRL block");
    return out;
}

// The DER issuer Name of a CRL, read from the start of tbsCertList without
// parsing the rest: a file is fully read, verified and indexed only with the
// CA that issued it.
std::optional<std::span<const std::uint8_t>> peek_crl_issuer(std::span<const std::uint8_t> der) {
    // One TLV with a definite length of at most 4 octets; `in` moves past it.
    auto tlv = [](std::span<const std::uint8_t>& in, std::uint8_t& tag, std::span<const std::uint8_t>& content,
                  std::span<const std::uint8_t>* whole) {
        if (in.size() < 2) return false;
        tag = in[0];
        std::size_t len = in[1], hdr = 2;
        if (len & 0x80) {
            const std::size_t n = len & 0x7f;
            if (n == 0 || n > 4 || in.size() < 2 + n) return false;
            len = 0;
            for (std::size_t i = 0; i < n; ++i) len = (len << 8) | in[2 + i];
            hdr += n;
        }
        if (in.size() - hdr < len) return false;
        content = in.subspan(hdr, len);
        if (whole) *whole = in.first(hdr + len);
        in = in.subspan(hdr + len);
        return true;
    };
    std::uint8_t tag;
    std::span<const std::uint8_t> outer, tbs, skip, name;
    if (!tlv(der, tag, outer, nullptr) || tag != 0x30) return std::nullopt;
    if (!tlv(outer, tag, tbs, nullptr) || tag != 0x30) return std::nullopt;
    std::span<const std::uint8_t> probe = tbs;
    if (!tlv(probe, tag, skip, nullptr)) return std::nullopt;
    if (tag == 0x02) tbs = probe;                                          // version
    if (!tlv(tbs, tag, skip, nullptr) || tag != 0x30) return std::nullopt;  // signature AlgorithmIdentifier
    if (!tlv(tbs, tag, skip, &name) || tag != 0x30) return std::nullopt;    // issuer Name
    return name;
}

}  // namespace

Status check_crl_file(const std::string& path, std::size_t max_size) {
    auto f = CG_TRY(ProtectedFile::open(path, max_size));
    const auto size = static_cast<std::size_t>(f.stat().st_size);
    if (size == 0) return Error(Code::config_file, path + ": empty, not a CRL");
    void* base = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, f.fd(), 0);
    if (base == MAP_FAILED) return Error(Code::config_io, path + ": cannot map: " + std::strerror(errno));
    const std::span<const std::uint8_t> bytes(static_cast<const std::uint8_t*>(base), size);
    const std::string_view text(static_cast<const char*>(base), size);
    const bool pem = text.find("-----BEGIN ") != std::string_view::npos;
    const bool ok = pem ? text.find("-----BEGIN X509 CRL-----") != std::string_view::npos
                        : peek_crl_issuer(bytes).has_value();
    munmap(base, size);
    if (!ok) return Error(Code::config_file, path + ": not a DER or PEM CRL");
    return {};
}

namespace {

// CRL numbers (DER INTEGER content octets, non-negative) compared by value.
int compare_number(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    while (!a.empty() && a.front() == 0) a = a.subspan(1);
    while (!b.empty() && b.front() == 0) b = b.subspan(1);
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    const int c = a.empty() ? 0 : std::memcmp(a.data(), b.data(), a.size());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
}

std::string number_text(std::span<const std::uint8_t> n) {
    if (n.empty()) return "none";
    if (n.size() <= 8) {
        std::uint64_t v = 0;
        for (auto b : n) v = (v << 8) | b;
        return std::to_string(v);
    }
    return "0x" + to_hex(n);
}

std::string age_text(std::int64_t seconds) {
    if (seconds < 0) return "from the future";
    if (seconds < 120) return std::to_string(seconds) + " s old";
    if (seconds < 7200) return std::to_string(seconds / 60) + " min old";
    if (seconds < 2 * 86400) return std::to_string(seconds / 3600) + " h old";
    return std::to_string(seconds / 86400) + " days old";
}

// One CRL that lookups can use, with the bytes its view reads.
struct Crl {
    std::string source;                           // "CRL /etc/…" or "CRL http://…"
    bool cached = false;                          // a download kept in the cache directory
    std::shared_ptr<const void> owner;            // the bytes the view reads (a mapped file, or a buffer)
    std::optional<CrlIndexView> view;
    std::string url;                              // downloads: where from
    std::string path;                             // trust.crls files: which
    const CrlFacts& facts() const { return view->facts(); }
};

// A Crl over `payload`, which lies inside what `owner` keeps alive.
std::shared_ptr<Crl> make_crl(std::string source, std::shared_ptr<const void> owner,
                              std::span<const std::uint8_t> payload, std::string& problem) {
    auto c = std::make_shared<Crl>();
    c->source = std::move(source);
    c->owner = std::move(owner);
    auto v = CrlIndexView::open(payload);
    if (!v) {
        problem = c->source + ": " + v.error().detail();
        return nullptr;
    }
    c->view.emplace(std::move(v).value());
    return c;
}

// A CRL that could not be used (build_crl_index refused it), kept for what
// it still says of its scope (RFC 5280 6.3.3 b): one from a certificate's
// issuer that covers the certificate and is newer than the CRL that would
// answer makes the status unknown, never "good by the older CRL" (by_crl).
struct RefusedCrl {
    std::string source;             // "CRL /etc/…", "CRL /etc/…: CRL 2", "CRL http://…"
    std::string why;                // why it cannot be used
    std::optional<CrlScope> scope;  // nullopt: not even its header could be read
    std::optional<Sha256> issuer_name;  // known even without a scope, for a file (peek_crl_issuer)
    std::string url;                // downloads: where from
};

// The scope of a refused CRL as `issuer` would have signed it: the first of
// `cas` (same name) whose key verifies it, else one that cannot be verified;
// nullopt when every candidate's key disproves it (not this issuer's CRL).
// `at`: the index in `cas` of the CA whose key verified it (cas.size() when none).
struct Placed {
    std::optional<std::optional<CrlScope>> scope;
    std::size_t at;
};
Placed scope_under(std::span<const std::uint8_t> der, const std::vector<X509*>& cas) {
    std::optional<CrlScope> unverifiable;
    bool unreadable = false;
    for (std::size_t i = 0; i < cas.size(); ++i) {
        auto s = read_crl_scope(der, cas[i]);
        if (!s) {
            unreadable = true;
            continue;
        }
        if (s->signature == CrlScope::Signature::verified) return {std::optional<CrlScope>(std::move(s).value()), i};
        if (s->signature == CrlScope::Signature::unverifiable && !unverifiable) unverifiable = std::move(s).value();
    }
    if (unverifiable) return {std::optional<CrlScope>(std::move(unverifiable)), cas.size()};
    if (unreadable) return {std::optional<CrlScope>(), cas.size()};  // cannot be placed: it may be anyone's, so it counts
    return {std::nullopt, cas.size()};
}

// A refused CRL whose issuer cannot even be read: it may be any issuer's.
RefusedCrl unplaceable(std::string source, std::string why) {
    return RefusedCrl{std::move(source), std::move(why), std::nullopt, std::nullopt, {}};
}

std::size_t count_pem_crls(std::string_view text) {
    std::size_t n = 0;
    for (auto at = text.find("-----BEGIN X509 CRL-----"); at != std::string_view::npos;
         at = text.find("-----BEGIN X509 CRL-----", at + 1))
        ++n;
    return n;
}

// What one source said about one certificate.
struct Answer {
    RevState state = RevState::unknown;
    std::string source;
    std::int64_t this_update = 0, expires = 0, revoked_at = 0;
    int reason = -1;
    bool stale = false, cached = false;
    std::string note;  // how the source itself was judged (a delegated OCSP responder)
};

}  // namespace

// ------------------------------------------------------------------- the state

struct RevocationChecker::State {
    explicit State(const TrustConfig& t) : trust(t) {
        if (!t.cache_dir.empty()) dir.emplace(t.cache_dir);
    }

    const TrustConfig& trust;
    std::optional<IndexDir> dir;

    std::mutex mu;  // guards what follows; never held across a download
    struct FileCrls {
        FileIdentity id;
        std::vector<std::shared_ptr<Crl>> crls;
        std::vector<std::string> problems;
        std::vector<RefusedCrl> refused;
    };
    std::map<std::string, FileCrls, std::less<>> files;
    std::set<std::string, std::less<>> distrusted;  // trust.crls files whose stored index failed a check (with mu)
    std::map<std::string, std::shared_ptr<Crl>, std::less<>> fetched;  // by cache key
    std::map<std::string, OcspAnswer, std::less<>> answered;           // asked in this process, by cache key
    std::optional<std::vector<Certificate>> issuers;                    // anchors and intermediates, on demand
    std::string issuers_problem;

    std::int64_t grace() const { return std::chrono::duration_cast<std::chrono::seconds>(trust.max_staleness).count(); }
    OcspSettings ocsp_settings() const {
        OcspSettings s;
        s.nonce = trust.ocsp_nonce;
        s.max_age = std::chrono::duration_cast<std::chrono::seconds>(trust.ocsp_max_age);
        s.fetch = {trust.fetch_timeout, max_ocsp_response};
        return s;
    }

    const std::vector<Certificate>& configured_cas();  // with mu held
    FileCrls load_file(const std::string& path, const FileIdentity& id, const ProtectedFile& f);  // with mu held
    // The CRLs of every trust.crls file, read once per check(). Error
    // (config_file) when a file cannot be used at all.
    struct FileSet {
        std::vector<std::shared_ptr<Crl>> crls;
        std::vector<std::string> problems;  // CRLs in them that failed a check
        std::vector<RefusedCrl> refused;    // those of them that a configured CA may have issued
    };
    Result<FileSet> file_crls();
    std::shared_ptr<Crl> fetched_crl(const std::string& url, X509* issuer, std::time_t now, Network net, bool force,
                                     std::string& problem, std::optional<RefusedCrl>* refused = nullptr);
    std::optional<OcspAnswer> ocsp(X509* cert, X509* issuer, const std::string& url, std::time_t now, Network net,
                                   bool force, bool& cached, std::string& problem);

    // `subordinate`: for a trust anchor, the certificate it issued in this
    // chain, whose distribution points name the CRL the anchor publishes.
    std::optional<Answer> by_crl(X509* cert, X509* issuer, X509* subordinate, const FileSet& configured, std::time_t now,
                                 Network net, std::string& problem, bool retried = false);
    std::optional<Answer> by_ocsp(X509* cert, X509* issuer, const FileSet& configured, std::time_t now, Network net,
                                  std::string& problem);
    // A delegated responder's own status, for an answer it signed: "" when
    // it may be used (with `note` saying why), else why not.
    std::string check_responder(const OcspAnswer& a, X509* issuer, const FileSet& configured, std::time_t now,
                                Network net, std::string& note);
};

const std::vector<Certificate>& RevocationChecker::State::configured_cas() {
    if (issuers) return *issuers;
    issuers.emplace();
    for (const auto* list : {&trust.anchors, &trust.intermediates})
        for (const auto& path : *list) {
            auto bytes = read_protected_file(path);
            auto certs = bytes ? parse_certificates(*bytes, path) : Result<std::vector<Certificate>>(bytes.error());
            if (!certs) {
                issuers_problem = certs.error().detail();
                continue;
            }
            for (auto& c : *certs) issuers->push_back(std::move(c));
        }
    return *issuers;
}

// ----------------------------------------------------------- trust.crls files

namespace {

std::string encode_file_index(const std::vector<std::vector<std::uint8_t>>& indexes) {
    std::string s;
    bytes::put_u64(s, indexes.size());
    for (const auto& i : indexes) bytes::put(s, std::span<const std::uint8_t>(i));
    return s;
}

std::optional<std::vector<std::span<const std::uint8_t>>> decode_file_index(std::span<const std::uint8_t> payload) {
    bytes::Reader r(payload);
    std::uint64_t n = 0;
    if (!r.u64(n) || n == 0 || n > 4096) return std::nullopt;
    std::vector<std::span<const std::uint8_t>> parts(static_cast<std::size_t>(n));
    for (auto& p : parts)
        if (!r.field(p, payload.size())) return std::nullopt;
    if (!r.done()) return std::nullopt;
    return parts;
}

}  // namespace

// The CRLs of one trust.crls file: from its index in the cache directory
// when one matches the file's identity, or else read, verified (each with
// the configured CA that issued it) and indexed now.
RevocationChecker::State::FileCrls RevocationChecker::State::load_file(const std::string& path, const FileIdentity& id,
                                                                       const ProtectedFile& f) {
    FileCrls out;
    out.id = id;
    const std::string source = "CRL " + path;
    // An index that failed a check is not read again: rebuilt from the file.
    const bool use_index = distrusted.erase(path) == 0;
    if (dir && use_index)
        if (std::shared_ptr<const MappedIndex> mapped = dir->open(kind_file, format_version, path, id)) {
            if (auto parts = decode_file_index(mapped->payload())) {
                for (auto p : *parts) {
                    std::string problem;
                    auto c = make_crl(source, mapped, p, problem);
                    if (!c) {  // a damaged index: read the file instead
                        out.crls.clear();
                        break;
                    }
                    c->path = path;
                    out.crls.push_back(std::move(c));
                }
                if (!out.crls.empty()) return out;
            }
        }

    auto bytes = f.read();
    if (!bytes) {
        out.problems.push_back(bytes.error().detail());
        return out;
    }
    auto ders = split_crls(*bytes);
    if (!ders) {
        out.problems.push_back(path + ": " + ders.error().detail());
        out.refused.push_back(unplaceable(source, ders.error().detail()));
        return out;
    }
    // A PEM block that does not decode is a CRL nobody can place: it may be
    // the newest of any issuer.
    if (const std::size_t marked = count_pem_crls(*bytes); marked > ders->size()) {
        const std::string why = std::to_string(marked - ders->size()) + " of its " + std::to_string(marked) +
                                " \"X509 CRL\" PEM blocks cannot be decoded";
        out.problems.push_back(path + ": " + why);
        out.refused.push_back(unplaceable(source, why));
    }
    std::string().swap(*bytes);  // a PEM file of a million entries is 66 MB: not kept while indexing
    const auto& cas = configured_cas();
    std::vector<std::vector<std::uint8_t>> indexes;
    std::size_t k = 0;
    for (const auto& der : *ders) {
        ++k;
        const std::string which = ders->size() > 1 ? path + ": CRL " + std::to_string(k) : path;
        const auto span = bytes::as_span(der);
        auto name = peek_crl_issuer(span);
        if (!name) {
            out.problems.push_back(which + ": not a DER or PEM CRL");
            out.refused.push_back(unplaceable("CRL " + which, "not a DER CRL"));
            continue;
        }
        const Sha256 want = sha256_of({reinterpret_cast<const char*>(name->data()), name->size()});
        std::string why = "issued by a CA that is neither in trust.anchors nor in trust.intermediates";
        if (!issuers_problem.empty()) why += " (" + issuers_problem + ")";
        std::optional<std::vector<std::uint8_t>> built;
        std::vector<X509*> named;        // the configured CAs of that name
        std::vector<std::string> whys;   // and why each refused it
        for (const auto& ca : cas) {
            if (name_sha256(X509_get_subject_name(ca.x509())) != want) continue;  // get: borrowed
            auto b = build_crl_index(span, ca.x509());
            if (b) {
                built = std::move(b).value();
                break;
            }
            named.push_back(ca.x509());  // a look-alike CA may share the name: try the others
            whys.push_back(b.error().detail());
        }
        if (!built) {
            if (!named.empty()) {
                const auto [scope, at] = scope_under(span, named);
                if (at < named.size()) why = whys[at];  // the reason of the CA that signed it
                if (scope) out.refused.push_back({"CRL " + which, why, std::move(*scope), want, {}});
            }
            out.problems.push_back(which + ": " + why);
            continue;
        }
        indexes.push_back(std::move(*built));
    }
    ders->clear();
    if (indexes.empty()) return out;
    // One buffer: the file's index as the cache keeps it, which the views read.
    auto buffer = std::make_shared<const std::string>(encode_file_index(indexes));
    indexes.clear();
    const auto parts = decode_file_index(bytes::as_span(*buffer));
    if (!parts) {
        out.problems.push_back(path + ": internal error encoding its index");
        return out;
    }
    for (auto p : *parts) {
        std::string problem;
        auto c = make_crl(source, buffer, p, problem);
        if (!c) {
            out.problems.push_back(problem);
            continue;
        }
        c->path = path;
        out.crls.push_back(std::move(c));
    }
    // Only a file whose every CRL verified is remembered: a problem is found
    // again, and reported, on every use until the file is fixed.
    if (dir && out.problems.empty()) dir->store(kind_file, format_version, path, id, bytes::as_span(*buffer));
    return out;
}

Result<RevocationChecker::State::FileSet> RevocationChecker::State::file_crls() {
    FileSet out;
    for (const auto& path : trust.crls) {
        auto f = ProtectedFile::open(path, static_cast<std::size_t>(trust.crl_max_size));
        if (!f) return Error(Code::config_file, "trust.crls: " + f.error().detail());
        const FileIdentity id = FileIdentity::of(f->stat());
        std::lock_guard lock(mu);
        auto it = files.find(path);
        if (it == files.end() || !(it->second.id == id)) it = files.insert_or_assign(path, load_file(path, id, *f)).first;
        out.crls.insert(out.crls.end(), it->second.crls.begin(), it->second.crls.end());
        out.problems.insert(out.problems.end(), it->second.problems.begin(), it->second.problems.end());
        out.refused.insert(out.refused.end(), it->second.refused.begin(), it->second.refused.end());
    }
    return out;
}

// ----------------------------------------------------------- downloaded CRLs

namespace {

std::array<std::uint8_t, 32> fetch_key(const std::string& url, X509* issuer) {
    std::string m = "cardgate crl download\n";
    bytes::put(m, url);
    bytes::put(m, view(spki_sha256(issuer)));
    return sha256_of(m);
}

// Entry: the URL, the issuer's DER (for refresh), the CRL index.
std::string encode_fetch(const std::string& url, X509* issuer, std::span<const std::uint8_t> index) {
    std::string s;
    bytes::put(s, url);
    bytes::put(s, encode_der(issuer));
    bytes::put(s, index);
    return s;
}

struct FetchEntry {
    std::string url;
    std::span<const std::uint8_t> issuer_der, index;
};

std::optional<FetchEntry> decode_fetch(std::span<const std::uint8_t> payload) {
    bytes::Reader r(payload);
    FetchEntry e;
    if (!r.text(e.url, max_url) || !r.field(e.issuer_der, max_cert) || !r.field(e.index, payload.size()) || !r.done())
        return std::nullopt;
    return e;
}

}  // namespace

// The CRL at `url` for certificates of `issuer`: the one kept in the cache
// while current (unless `force`), else downloaded, verified with issuer's
// key, checked against the kept one (never older), indexed and kept. When
// nothing current can be had, the kept one is returned anyway (the caller
// applies max_staleness) with `problem` saying why.
std::shared_ptr<Crl> RevocationChecker::State::fetched_crl(const std::string& url, X509* issuer, std::time_t now,
                                                           Network net, bool force, std::string& problem,
                                                           std::optional<RefusedCrl>* refused) {
    const auto key = fetch_key(url, issuer);
    const std::string memo_key(view(key));
    const std::string source = "CRL " + url;
    std::shared_ptr<Crl> kept;
    {
        std::lock_guard lock(mu);
        if (auto it = fetched.find(memo_key); it != fetched.end()) kept = it->second;
    }
    if (!kept && dir)
        if (std::shared_ptr<const MappedIndex> m = dir->open_entry(kind_fetch, format_version, key))
            if (auto e = decode_fetch(m->payload()); e && e->url == url) {
                std::string ignored;
                kept = make_crl(source, m, e->index, ignored);
                if (kept) {
                    kept->cached = true;
                    kept->url = url;
                }
            }
    const bool current = kept && kept->facts().this_update <= now && now <= kept->facts().next_update;
    if (current && !force) return kept;
    if (net == Network::avoid) {
        problem = source + ": " + (kept ? "the kept CRL is past its nextUpdate" : "not downloaded yet") +
                  " (not fetched now)";
        return kept;
    }

    auto body = http_get(url, {trust.fetch_timeout, static_cast<std::size_t>(trust.crl_max_size)});
    if (!body) {
        problem = body.error().detail();
        return kept;
    }
    // A CRL the issuer signed that cannot be used is a refused CRL (by_crl):
    // unless its signed header shows that it is not newer or does not cover
    // the certificate, the status is unknown, or STALE by the kept CRL within
    // trust.max_staleness; never "good" by an older CRL.
    // Anything else that cannot be used (junk, an HTML page, a CRL the
    // issuer did not sign) is like a download that failed: whoever can
    // inject it can also drop the connection, so it silences nothing.
    auto ders = split_crls(*body);
    if (!ders || ders->size() != 1) {
        problem = "CRL from " + url + ": " + (ders ? "holds " + std::to_string(ders->size()) + " CRLs, not one"
                                                   : ders.error().detail());
        return kept;
    }
    auto built = build_crl_index(bytes::as_span(ders->front()), issuer);
    if (!built) {
        problem = "CRL from " + url + ": " + built.error().detail();
        auto placed = scope_under(bytes::as_span(ders->front()), {issuer});
        if (refused && placed.scope && *placed.scope && (*placed.scope)->signature == CrlScope::Signature::verified)
            *refused = RefusedCrl{source, built.error().detail(), std::move(*placed.scope), std::nullopt, url};
        return kept;
    }
    ders->clear();
    auto index = std::make_shared<const std::vector<std::uint8_t>>(std::move(built).value());
    std::string p;
    auto fresh = make_crl(source, index, *index, p);
    if (!fresh) {
        problem = p;
        return kept;
    }
    fresh->url = url;
    if (kept) {
        const auto& o = kept->facts();
        const auto& n = fresh->facts();
        if (compare_number(n.crl_number, o.crl_number) < 0 || n.this_update < o.this_update) {
            problem = "CRL from " + url + ": CRL number " + number_text(n.crl_number) + " (thisUpdate " +
                      format_utc(n.this_update) + ") is older than the one kept, number " +
                      number_text(o.crl_number) + " (thisUpdate " + format_utc(o.this_update) +
                      "): refused, a CRL never goes backwards";
            return kept;
        }
    }
    if (dir) {
        const std::string payload = encode_fetch(url, issuer, *index);
        dir->store_entry(kind_fetch, format_version, key, bytes::as_span(payload),
                         fresh->facts().next_update + grace() + keep_history, 0644);
    }
    std::lock_guard lock(mu);
    fetched[memo_key] = fresh;
    return fresh;
}

// --------------------------------------------------------------------- OCSP

namespace {

std::array<std::uint8_t, 32> ocsp_key(const std::string& url, X509* cert, X509* issuer) {
    std::string m = "cardgate ocsp response\n";
    bytes::put(m, url);
    bytes::put(m, view(spki_sha256(issuer)));
    bytes::put(m, serial_key(cert));
    return sha256_of(m);
}

// Entry: the URL, the certificate's and the issuer's DER (for refresh), the response.
std::string encode_ocsp(const std::string& url, X509* cert, X509* issuer, std::string_view response) {
    std::string s;
    bytes::put(s, url);
    bytes::put(s, encode_der(cert));
    bytes::put(s, encode_der(issuer));
    bytes::put(s, response);
    return s;
}

struct OcspEntry {
    std::string url;
    std::span<const std::uint8_t> cert_der, issuer_der, response;
};

std::optional<OcspEntry> decode_ocsp(std::span<const std::uint8_t> payload) {
    bytes::Reader r(payload);
    OcspEntry e;
    if (!r.text(e.url, max_url) || !r.field(e.cert_der, max_cert) || !r.field(e.issuer_der, max_cert) ||
        !r.field(e.response, max_ocsp_response) || !r.done())
        return std::nullopt;
    return e;
}

}  // namespace

// The OCSP answer for `cert` from `url`: a kept response while current
// (checked again in full), else a new one, kept. When no current answer can
// be had, a kept one is returned anyway (the caller applies max_staleness)
// with `problem` saying why.
std::optional<OcspAnswer> RevocationChecker::State::ocsp(X509* cert, X509* issuer, const std::string& url,
                                                         std::time_t now, Network net, bool force, bool& cached,
                                                         std::string& problem) {
    const auto settings = ocsp_settings();
    const auto key = ocsp_key(url, cert, issuer);
    const std::string memo_key(view(key));
    if (!force) {
        std::lock_guard lock(mu);
        if (auto it = answered.find(memo_key); it != answered.end() && now <= it->second.expires) {
            cached = false;
            return it->second;
        }
    }
    std::optional<OcspAnswer> kept;
    if (dir)
        if (auto m = dir->open_entry(kind_ocsp, format_version, key))
            if (auto e = decode_ocsp(m->payload()); e && e->url == url) {
                const std::string_view der(reinterpret_cast<const char*>(e->response.data()), e->response.size());
                if (auto a = ocsp_check_response(der, cert, issuer, settings, now)) kept = std::move(a).value();
            }
    cached = false;
    if (kept && now <= kept->expires && !force) {
        cached = true;
        return kept;
    }
    if (net == Network::avoid) {
        problem = "OCSP " + url + ": " + (kept ? "the kept response is past its expiry" : "no response kept") +
                  " (not asked now)";
        cached = true;
        return kept;
    }
    auto a = ocsp_query(url, cert, issuer, settings, now);
    if (!a) {
        problem = a.error().detail();
        cached = true;
        return kept;
    }
    if (now > a->expires) {
        problem = "OCSP response from " + url + ": thisUpdate " + format_utc(a->this_update) +
                  (a->next_update ? ", nextUpdate " + format_utc(a->next_update) : std::string()) +
                  ": too old (trust.ocsp_max_age " + std::to_string(settings.max_age.count()) +
                  " s, or past its nextUpdate): refused, a replayed response";
        cached = true;
        return kept;
    }
    if (dir) {
        const std::string payload = encode_ocsp(url, cert, issuer, a->der);
        dir->store_entry(kind_ocsp, format_version, key, bytes::as_span(payload), a->expires + grace() + 86400, 0644);
    }
    std::lock_guard lock(mu);
    answered[memo_key] = *a;
    return std::move(a).value();
}

// RFC 6960 4.2.2.2.1: a responder certificate with id-pkix-ocsp-nocheck is
// trusted for its lifetime. Without it, it is checked like any certificate
// of the chain, by its issuer's CRLs: an OCSP answer about the responder
// would come from the responder itself. No CRL that answers: not used.
std::string RevocationChecker::State::check_responder(const OcspAnswer& a, X509* issuer, const FileSet& configured,
                                                      std::time_t now, Network net, std::string& note) {
    if (!a.delegated) return {};
    const auto der = std::span(reinterpret_cast<const std::uint8_t*>(a.responder_der.data()), a.responder_der.size());
    ossl::X509Ptr responder = x509_of(der);
    if (!responder) return "the delegated responder certificate cannot be decoded";
    const std::string who = "delegated responder " + subject_of(responder.get());
    if (a.responder_nocheck) {
        note = who + ": id-pkix-ocsp-nocheck, its own status not checked";
        return {};
    }
    // A revocation from a responder the CA delegated stands whatever the
    // responder's own status: dropping it could only let the next source say
    // "good". Only a "good" needs the responder to be in good standing.
    if (a.status == OcspStatus::revoked) {
        note = who + ": a revocation, used whatever the responder's own status";
        return {};
    }
    // Under revocation = "ocsp" the files were not read for the chain.
    FileSet loaded;
    const FileSet* crls = &configured;
    if (!trust.checks_crl() && !trust.crls.empty()) {
        auto f = file_crls();
        if (!f) return "its own status cannot be checked: " + f.error().detail();
        loaded = std::move(f).value();
        crls = &loaded;
    }
    std::string p;
    auto r = by_crl(responder.get(), issuer, nullptr, *crls, now, net, p);
    if (!r) return who + " has no id-pkix-ocsp-nocheck and its own status is unknown (" + p + ")";
    if (r->state == RevState::revoked)
        return who + " is revoked (" + std::string(crl_reason_name(r->reason)) + ", by " + r->source + ")";
    note = who + ": good by " + r->source;
    return {};
}

std::optional<Answer> RevocationChecker::State::by_ocsp(X509* cert, X509* issuer, const FileSet& configured,
                                                        std::time_t now, Network net, std::string& problem) {
    const std::string url = trust.ocsp_responder ? *trust.ocsp_responder : ocsp_url_of(cert);
    if (url.empty()) {
        problem = "OCSP: the certificate names no responder (no AIA OCSP URL) and trust.ocsp_responder is not set";
        return std::nullopt;
    }
    bool cached = false;
    auto a = ocsp(cert, issuer, url, now, net, false, cached, problem);
    if (!a) return std::nullopt;
    const bool current = now <= a->expires;
    if (!current && now > a->expires + grace()) {
        if (problem.empty()) problem = "OCSP " + url + ": the kept response expired " + format_utc(a->expires);
        else problem += "; the kept response expired " + format_utc(a->expires) + ", beyond trust.max_staleness";
        return std::nullopt;
    }
    if (a->status == OcspStatus::unknown) {
        problem = "OCSP " + url + ": the responder does not know this certificate (status unknown)";
        return std::nullopt;
    }
    std::string responder_note;
    if (auto why = check_responder(*a, issuer, configured, now, net, responder_note); !why.empty()) {
        problem = "OCSP " + url + ": the answer is not used: " + why;
        return std::nullopt;
    }
    Answer out;
    out.state = a->status == OcspStatus::revoked ? RevState::revoked : RevState::good;
    out.source = "OCSP " + url;
    out.note = std::move(responder_note);
    out.this_update = a->this_update;
    out.expires = a->expires;
    out.revoked_at = a->revoked_at;
    out.reason = a->reason;
    out.cached = cached;
    out.stale = !current;
    if (out.stale) out.source += " (" + problem + ")";
    problem.clear();
    return out;
}

// ---------------------------------------------------------------------- CRLs

namespace {

// Whether a refused CRL would have spoken for `cert` (RFC 5280 6.3.3 b):
// issued by its issuer (same name; the issuer's key verified it, or no key
// could tell), and a scope that includes it. What cannot be read counts.
bool speaks_for(const RefusedCrl& r, const Sha256& issuer_name, const Sha256& issuer_key, bool ca,
                const std::vector<std::string>& dp_urls) {
    if (!r.scope) return !r.issuer_name || *r.issuer_name == issuer_name;  // a download has no name to compare
    const CrlScope& s = *r.scope;
    if (s.issuer_name_sha256 != issuer_name) return false;
    if (s.signature == CrlScope::Signature::failed) return false;
    if (s.signature == CrlScope::Signature::verified && s.signer_spki_sha256 != issuer_key) return false;
    if (s.only_attribute_certs || (s.only_user_certs && ca) || (s.only_ca_certs && !ca)) return false;
    if (!s.idp_uris.empty() && !s.idp_unmatched &&
        std::none_of(s.idp_uris.begin(), s.idp_uris.end(), [&](const std::string& u) {
            return std::find(dp_urls.begin(), dp_urls.end(), u) != dp_urls.end();
        }))
        return false;
    return true;
}

// Whether a refused CRL has the scope of `f`: CRL numbers are ordered only
// within one scope (RFC 5280 5.2.3); a delta CRL is numbered in its base's
// sequence (5.2.4).
bool same_scope(const CrlScope& s, const CrlFacts& f) {
    if (s.idp_unmatched || s.partial_reasons || s.indirect || s.only_attribute_certs) return false;
    if (s.only_user_certs != f.only_user_certs || s.only_ca_certs != f.only_ca_certs) return false;
    auto a = s.idp_uris, b = f.idp_uris;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    return a == b;
}

// Newer than the CRL that would answer: by CRL number when both have one in
// the same scope, else by thisUpdate, where a tie counts (which of two CRLs
// of one moment is the later cannot be told). Newer than nothing, and when
// it cannot be read.
bool newer_than(const RefusedCrl& r, const CrlFacts* best) {
    if (!best || !r.scope) return true;
    if (!r.scope->crl_number.empty() && !best->crl_number.empty() && same_scope(*r.scope, *best))
        return compare_number(r.scope->crl_number, best->crl_number) > 0;
    return r.scope->this_update >= best->this_update;
}

// Every fullName URI of the certificate's CRL distribution points, whatever
// their scheme, reasons or cRLIssuer: what a refused CRL's issuing
// distribution point may name.
std::vector<std::string> all_dp_uris(X509* x) {
    std::vector<std::string> out;
    auto free_dps = [](STACK_OF(DIST_POINT)* st) { sk_DIST_POINT_pop_free(st, DIST_POINT_free); };
    std::unique_ptr<STACK_OF(DIST_POINT), decltype(free_dps)> dps(
        static_cast<STACK_OF(DIST_POINT)*>(X509_get_ext_d2i(x, NID_crl_distribution_points, nullptr, nullptr)),
        free_dps);  // owned
    for (int i = 0; dps && i < sk_DIST_POINT_num(dps.get()); ++i) {
        const DIST_POINT* dp = sk_DIST_POINT_value(dps.get(), i);  // borrowed from dps
        if (!dp->distpoint || dp->distpoint->type != 0) continue;
        const GENERAL_NAMES* names = dp->distpoint->name.fullname;
        for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, j);
            if (gn->type != GEN_URI) continue;
            const ASN1_IA5STRING* u = gn->d.uniformResourceIdentifier;
            out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(u)),
                             static_cast<std::size_t>(ASN1_STRING_length(u)));
        }
    }
    ossl::last_error();
    return out;
}

std::string describe_refused(const RefusedCrl& r) {
    if (!r.scope) return r.source + " (unreadable)";
    return r.source + " (" + (r.scope->delta ? "delta CRL, " : "") + "number " + number_text(r.scope->crl_number) +
           ", thisUpdate " + format_utc(r.scope->this_update) + ")";
}

}  // namespace

std::optional<Answer> RevocationChecker::State::by_crl(X509* cert, X509* issuer, X509* subordinate,
                                                       const FileSet& configured, std::time_t now, Network net,
                                                       std::string& problem, bool retried) {
    std::vector<std::string> problems = configured.problems;
    std::vector<std::shared_ptr<Crl>> candidates = configured.crls;
    std::vector<RefusedCrl> refused = configured.refused;
    const auto dp_urls = crl_dp_urls(cert);
    if (trust.fetch_crls) {
        // A self-signed anchor seldom names a distribution point of its own;
        // the CRL it publishes is the one its subordinates point at.
        auto urls = dp_urls;
        if (subordinate)
            for (auto& u : crl_dp_urls(subordinate))
                if (std::find(urls.begin(), urls.end(), u) == urls.end()) urls.push_back(std::move(u));
        if (urls.empty()) problems.push_back("the certificate names no http(s) CRL distribution point");
        for (const auto& url : urls) {
            std::string p;
            std::optional<RefusedCrl> r;
            if (auto c = fetched_crl(url, issuer, now, net, false, p, &r)) candidates.push_back(std::move(c));
            if (!p.empty()) problems.push_back(p);
            if (r) refused.push_back(std::move(*r));
        }
    }

    const Sha256 issuer_name = name_sha256(X509_get_subject_name(issuer));  // get: borrowed
    const Sha256 issuer_key = spki_sha256(issuer);
    const bool ca = is_ca(cert);
    const std::shared_ptr<Crl>* best = nullptr;
    bool best_current = false;
    std::size_t issuer_crls = 0;
    std::vector<const Crl*> early;  // covering CRLs of this issuer not valid yet
    for (const auto& c : candidates) {
        const CrlFacts& f = c->facts();
        if (f.issuer_name_sha256 != issuer_name) continue;
        ++issuer_crls;
        if (f.signer_spki_sha256 != issuer_key) {
            problems.push_back(c->source + ": signed by another key than this issuer's (a CA with the same name)");
            continue;
        }
        if ((f.only_user_certs && ca) || (f.only_ca_certs && !ca)) continue;  // out of its scope
        if (!f.idp_uris.empty() &&
            std::none_of(f.idp_uris.begin(), f.idp_uris.end(), [&](const std::string& u) {
                return std::find(dp_urls.begin(), dp_urls.end(), u) != dp_urls.end();
            }))
            continue;  // a partition for other certificates
        if (f.this_update > now) {
            problems.push_back(c->source + ": not valid yet (thisUpdate " + format_utc(f.this_update) + ")");
            early.push_back(c.get());
            continue;
        }
        const bool current = now <= f.next_update;
        if (!current && now > f.next_update + grace()) {
            problems.push_back(c->source + ": stale (nextUpdate " + format_utc(f.next_update) + ")" +
                               (grace() > 0 ? ", beyond trust.max_staleness" : ""));
            continue;
        }
        if (!best || (current && !best_current) ||
            (current == best_current && (f.this_update > (*best)->facts().this_update ||
                                         (f.this_update == (*best)->facts().this_update &&
                                          compare_number(f.crl_number, (*best)->facts().crl_number) > 0)))) {
            best = &c;
            best_current = current;
        }
    }
    // A newer CRL of this issuer for this certificate that cannot be used
    // (refused, or not valid yet) silences the older ones: what it says is
    // not known (RFC 5280 6.3.3 b).
    const CrlFacts* best_facts = best ? &(*best)->facts() : nullptr;
    auto silenced = [&]() -> std::optional<std::string> {
        const auto all_dps = all_dp_uris(cert);
        std::string d;
        for (const auto& r : refused) {
            if (!speaks_for(r, issuer_name, issuer_key, ca, all_dps) || !newer_than(r, best_facts)) continue;
            // A failed download while the kept CRL from the same place is
            // within trust.max_staleness: an outage, answered STALE below.
            if (best && !best_current && !r.url.empty() && (*best)->url == r.url) continue;
            d = describe_refused(r) + " from " + subject_of(issuer) + " may cover this certificate but cannot be used (" +
                r.why + ")";
            break;
        }
        // Not valid yet: later than the answering CRL, which is valid now.
        if (d.empty() && best_facts && !early.empty())
            d = early.front()->source + " (number " + number_text(early.front()->facts().crl_number) +
                ", thisUpdate " + format_utc(early.front()->facts().this_update) +
                ") covers this certificate but is not valid yet";
        if (d.empty()) return std::nullopt;
        if (best_facts)
            d += ", and it is newer than " + (*best)->source + " (number " + number_text(best_facts->crl_number) +
                 ", thisUpdate " + format_utc(best_facts->this_update) + "), which therefore cannot say \"good\"";
        return "CRL: " + d;
    };
    if (!best) {
        if (auto d = silenced()) {
            problem = std::move(*d);
            return std::nullopt;
        }
        std::string d = "CRL: no current CRL from " + subject_of(issuer);
        if (issuer_crls == 0 && problems.empty()) d += " (none of trust.crls is from this issuer)";
        for (const auto& p : problems) d += "; " + p;
        problem = d;
        return std::nullopt;
    }
    const Crl& crl = **best;
    auto hit = crl.view->find(serial_key(cert));
    if (!hit) {
        // A kept index that fails its check is never trusted: built again
        // from the CRL (the file, or a new download), once.
        if (!retried && (!crl.path.empty() || !crl.url.empty())) {
            {
                std::lock_guard lock(mu);
                if (!crl.path.empty()) {
                    distrusted.insert(crl.path);
                    files.erase(crl.path);
                } else {
                    fetched.erase(std::string(view(fetch_key(crl.url, issuer))));
                    if (dir) dir->store_entry(kind_fetch, format_version, fetch_key(crl.url, issuer), {}, 0, 0644);
                }
            }
            auto again = file_crls();
            if (!again) {
                problem = again.error().detail();
                return std::nullopt;
            }
            return by_crl(cert, issuer, subordinate, *again, now, net, problem, true);
        }
        problem = crl.source + ": " + hit.error().detail();
        return std::nullopt;
    }
    Answer out;
    out.source = crl.source;
    out.this_update = crl.facts().this_update;
    out.expires = crl.facts().next_update;
    out.cached = crl.cached;
    out.stale = !best_current;
    // A revocation stands whatever a newer CRL might say, but for a hold,
    // which a later CRL may lift (RFC 5280 5.3.1 certificateHold).
    constexpr int certificate_hold = 6;
    if (!(*hit && (*hit)->reason != certificate_hold))
        if (auto d = silenced()) {
            problem = std::move(*d);
            return std::nullopt;
        }
    if (*hit) {
        out.state = RevState::revoked;
        out.revoked_at = (*hit)->revoked_at;
        out.reason = (*hit)->reason;
    } else {
        out.state = RevState::good;
    }
    if (out.stale) {
        std::string why;
        for (const auto& p : problems) why += (why.empty() ? "" : "; ") + p;
        out.source += " (past its nextUpdate, within trust.max_staleness" + (why.empty() ? "" : ": " + why) + ")";
    }
    return out;
}

// ------------------------------------------------------------------- checker

RevocationChecker::RevocationChecker(const TrustConfig& trust, Network network)
    : trust_(trust), network_(network), state_(std::make_unique<State>(trust_)) {}

RevocationChecker::~RevocationChecker() = default;

Result<std::vector<CertRevocation>> RevocationChecker::check(std::span<X509* const> chain, std::time_t now) const {
    const Network network = network_;
    State::FileSet files;
    if (trust_.checks_crl()) files = CG_TRY(state_->file_crls());
    std::vector<CertRevocation> out;
    for (std::size_t depth = 0; depth < chain.size(); ++depth) {
        X509* cert = chain[depth];
        const bool anchor = depth + 1 == chain.size();
        X509* issuer = anchor ? cert : chain[depth + 1];
        CertRevocation r;
        r.depth = static_cast<int>(depth);
        r.subject = subject_of(cert);
        std::vector<std::string> said;
        std::optional<Answer> a;
        bool asked = false;
        for (auto source : trust_.revocation) {
            std::string problem;
            if (source == RevocationSource::ocsp) {
                if (anchor) continue;  // no issuer to ask about a self-signed anchor
                asked = true;
                a = state_->by_ocsp(cert, issuer, files, now, network, problem);
            } else {
                asked = true;
                a = state_->by_crl(cert, issuer, anchor && depth > 0 ? chain[depth - 1] : nullptr, files, now,
                                   network, problem);
            }
            if (a) break;
            said.push_back(std::move(problem));
        }
        if (!asked) {
            r.state = RevState::not_checked;
            r.detail = "a trust anchor: OCSP cannot answer for it; it is revoked by removing it from trust.anchors";
        } else if (a) {
            r.state = a->state;
            r.source = std::move(a->source);
            r.this_update = a->this_update;
            r.expires = a->expires;
            r.stale = a->stale;
            r.cached = a->cached;
            r.revoked_at = a->revoked_at;
            r.reason = a->reason;
            r.detail = std::move(a->note);
        } else {
            r.state = RevState::unknown;
            for (const auto& s : said) r.detail += (r.detail.empty() ? "" : "; ") + s;
        }
        const bool revoked = r.state == RevState::revoked;
        out.push_back(std::move(r));
        if (revoked) break;
    }
    return out;
}

Status RevocationChecker::verify_crl_files(std::vector<std::string>& report) const {
    auto files = CG_TRY(state_->file_crls());
    for (const auto& c : files.crls)
        report.push_back(c->source.substr(4) + ": CRL of " + std::to_string(c->facts().count) + " entries, number " +
                         number_text(c->facts().crl_number) + ", thisUpdate " + format_utc(c->facts().this_update) +
                         ", nextUpdate " + format_utc(c->facts().next_update));
    if (files.problems.empty()) return {};
    std::string d = files.problems.front();
    if (files.problems.size() > 1) d += " (and " + std::to_string(files.problems.size() - 1) + " more: ";
    for (std::size_t i = 1; i < files.problems.size(); ++i) d += (i > 1 ? "; " : "") + files.problems[i];
    if (files.problems.size() > 1) d += ")";
    return Error(Code::config_file, "trust.crls: " + d);
}

Status RevocationChecker::refresh(std::time_t now, std::vector<std::string>& report) const {
    State& st = *state_;
    if (!st.dir) return Error(Code::config_value, "trust.cache_dir is empty: nothing to refresh");
    if (auto ok = check_trusted_directory(trust_.cache_dir); !ok)
        return Error(Code::config_file, "trust.cache_dir: " + ok.error().detail());
    auto past_half = [now](std::int64_t from, std::int64_t until) { return now >= from + (until - from) / 2; };

    // trust.crls: index what is not indexed yet.
    if (trust_.checks_crl()) {
        auto files = st.file_crls();
        if (!files) return files.error();
        for (const auto& c : files->crls)
            report.push_back(c->source + ": indexed, " + std::to_string(c->facts().count) + " entries, nextUpdate " +
                             format_utc(c->facts().next_update));
        for (const auto& p : files->problems) report.push_back("problem: " + p);
    }

    // Downloads: every CRL kept, and those at the configured CAs' distribution points.
    std::vector<std::pair<std::string, ossl::X509Ptr>> urls;  // URL and the issuer of the CRL
    for (const auto& key : st.dir->list_entries(kind_fetch))
        if (auto m = st.dir->open_entry(kind_fetch, format_version, key))
            if (auto e = decode_fetch(m->payload()))
                if (auto issuer = x509_of(e->issuer_der)) urls.emplace_back(e->url, std::move(issuer));
    if (trust_.fetch_crls) {
        std::lock_guard lock(st.mu);
        const auto& cas = st.configured_cas();
        for (const auto& ca : cas)
            for (const auto& url : crl_dp_urls(ca.x509()))
                for (const auto& other : cas)  // the CA that issued `ca` publishes that CRL
                    if (X509_cmp(other.x509(), ca.x509()) != 0 && X509_check_issued(other.x509(), ca.x509()) == X509_V_OK) {
                        X509_up_ref(other.x509());
                        urls.emplace_back(url, ossl::X509Ptr(other.x509()));
                    }
    }
    std::sort(urls.begin(), urls.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [url, issuer] : urls) {
        std::string problem;
        auto kept = st.fetched_crl(url, issuer.get(), now, Network::avoid, false, problem);
        const bool due = !kept || past_half(kept->facts().this_update, kept->facts().next_update);
        if (!due) {
            report.push_back("CRL " + url + ": current (thisUpdate " + format_utc(kept->facts().this_update) +
                             ", nextUpdate " + format_utc(kept->facts().next_update) + "), not due");
            continue;
        }
        problem.clear();
        auto c = st.fetched_crl(url, issuer.get(), now, Network::use, true, problem);
        if (!problem.empty()) report.push_back("problem: " + problem);
        else if (c) report.push_back("CRL " + url + ": downloaded, number " + number_text(c->facts().crl_number) + ", " +
                                     std::to_string(c->facts().count) + " entries, nextUpdate " +
                                     format_utc(c->facts().next_update));
    }

    // OCSP: every response kept.
    for (const auto& key : st.dir->list_entries(kind_ocsp)) {
        auto m = st.dir->open_entry(kind_ocsp, format_version, key);
        auto e = m ? decode_ocsp(m->payload()) : std::nullopt;
        if (!e) continue;
        auto cert = x509_of(e->cert_der);
        auto issuer = x509_of(e->issuer_der);
        if (!cert || !issuer) continue;
        const std::string url = e->url;
        m.reset();
        bool cached = false;
        std::string problem;
        auto kept = st.ocsp(cert.get(), issuer.get(), url, now, Network::avoid, false, cached, problem);
        const std::string who = "OCSP " + url + " for " + subject_of(cert.get());
        if (kept && !past_half(kept->this_update, kept->expires)) {
            report.push_back(who + ": current until " + format_utc(kept->expires) + ", not due");
            continue;
        }
        problem.clear();
        auto a = st.ocsp(cert.get(), issuer.get(), url, now, Network::use, true, cached, problem);
        if (!problem.empty()) report.push_back("problem: " + problem);
        else if (a) report.push_back(who + ": asked, current until " + format_utc(a->expires));
    }
    st.dir->prune(kind_ocsp, now);
    st.dir->prune(kind_fetch, now);
    return {};
}

// ------------------------------------------------------------------ describe

std::string_view crl_reason_name(int reason) {
    switch (reason) {
    case 0: return "unspecified";
    case 1: return "keyCompromise";
    case 2: return "cACompromise";
    case 3: return "affiliationChanged";
    case 4: return "superseded";
    case 5: return "cessationOfOperation";
    case 6: return "certificateHold";
    case 8: return "removeFromCRL";
    case 9: return "privilegeWithdrawn";
    case 10: return "aACompromise";
    default: return "unspecified";
    }
}

std::string revocation_summary(const std::vector<CertRevocation>& statuses, std::time_t now) {
    std::string s;
    for (const auto& r : statuses) {
        if (!s.empty()) s += "; ";
        s += std::to_string(r.depth) + " ";
        switch (r.state) {
        case RevState::good: s += "good "; break;
        case RevState::revoked: s += "revoked "; break;
        case RevState::unknown: s += "unknown"; continue;
        case RevState::not_checked: s += "not checked"; continue;
        }
        // The source without its note (a stale answer's note is long).
        s += r.source.substr(0, r.source.find(" (")) + " " + age_text(now - r.this_update);
        if (r.cached) s += " kept";
        if (r.stale) s += " STALE";
    }
    return s;
}

std::string describe(const CertRevocation& r, std::time_t now) {
    std::string s = at_depth(static_cast<std::size_t>(r.depth), r.subject) + ": ";
    switch (r.state) {
    case RevState::good: s += "good"; break;
    case RevState::revoked:
        s += "revoked " + format_utc(r.revoked_at) + " (" + std::string(crl_reason_name(r.reason)) + ")";
        break;
    case RevState::unknown: return s + "status unknown: " + r.detail;
    case RevState::not_checked: return s + "not checked: " + r.detail;
    }
    s += " by " + r.source + " (thisUpdate " + format_utc(r.this_update) + ", " + age_text(now - r.this_update) +
         (r.cached ? ", kept from before" : "") + (r.stale ? ", STALE: expired " + format_utc(r.expires) : "") + ")";
    if (!r.detail.empty()) s += "; " + r.detail;
    return s;
}

}  // namespace cardgate
