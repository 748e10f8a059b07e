// The validation cache (src/validation_cache.hpp): a path that passed is
// reused only for the same leaf, the same anchor and intermediate files and
// inside their validity; revocation is asked again on every use (a CRL
// replaced, edited or stale counts at once); everything else (a refusal, a
// racily recent file, an untrusted directory, a tampered, moved, truncated or
// linked entry) is checked again from the files.
#define BOOST_TEST_MODULE validation_cache
#include <boost/test/unit_test.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "src/validation_cache.hpp"

namespace cardgate {
std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
std::ostream& operator<<(std::ostream& os, Validator::Last l) { return os << static_cast<int>(l); }
}  // namespace cardgate

using namespace cardgate;
namespace fs = std::filesystem;
using Last = Validator::Last;

namespace {

std::string fx(const std::string& rel) {
    const char* d = std::getenv("CARDGATE_FIXTURES");
    BOOST_REQUIRE_MESSAGE(d && *d, "CARDGATE_FIXTURES is not set (run through make check)");
    return std::string(d) + "/" + rel;
}

Certificate leaf(const std::string& name) {
    auto r = Certificate::load(fx("certs/" + name));
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message()));
    return std::move(r).value();
}

// A private copy of the standard trust files and an index directory. The
// clock runs a few seconds ahead, so the fresh copies are not "racily recent".
struct Setup {
    fs::path dir;
    TrustConfig trust;
    FixedClock clock{std::time(nullptr) + 5};

    Setup() {
        char tmpl[] = "/tmp/cardgate-vcache-XXXXXX";
        BOOST_REQUIRE(mkdtemp(tmpl));
        dir = tmpl;
        fs::create_directory(dir / "idx");
        chmod((dir / "idx").c_str(), 0700);
        for (const char* f : {"root.pem", "issuing.pem", "root.crl", "issuing.crl"}) put(f, fx(std::string("pki/") + f));
        trust.anchors = {(dir / "root.pem").string()};
        trust.intermediates = {(dir / "issuing.pem").string()};
        trust.crls = {(dir / "root.crl").string(), (dir / "issuing.crl").string()};
        trust.revocation = {RevocationSource::crl};
    }
    ~Setup() { fs::remove_all(dir); }

    // Replaces (a new inode, as a CRL download does) the trust file `name` with `from`.
    void put(const std::string& name, const std::string& from) {
        const fs::path tmp = dir / (name + ".new");
        fs::copy_file(from, tmp, fs::copy_options::overwrite_existing);
        chmod(tmp.c_str(), 0644);
        fs::rename(tmp, dir / name);
    }
    std::string idx() const { return (dir / "idx").string(); }
    std::vector<fs::path> entries() const {
        std::vector<fs::path> out;
        for (const auto& e : fs::directory_iterator(dir / "idx")) out.push_back(e.path());
        return out;
    }
    Verdict run(Validator& v, const std::string& cert, Purpose p = Purpose::login) const {
        auto r = v.validate(leaf(cert), p, default_purpose_config(p), clock);
        BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message()));
        return std::move(r).value();
    }
    // A fresh process's view: a new Validator each login.
    std::pair<Verdict, Last> login(const std::string& cert, Purpose p = Purpose::login,
                                   const Clock* at = nullptr) const {
        Validator v(trust, idx());
        auto r = v.validate(leaf(cert), p, default_purpose_config(p), at ? *at : clock);
        BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message()));
        return {std::move(r).value(), v.last()};
    }
};

bool has_step(const Verdict& v, const std::string& name, const std::string& says) {
    for (const auto& s : v.steps)
        if (s.name == name && s.ok && s.detail.find(says) != std::string::npos) return true;
    return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_clean_pass_is_stored_then_reused_by_the_next_login) {
    Setup s;
    auto [first, how1] = s.login("alice-ec256.pem");
    BOOST_TEST(first.ok());
    BOOST_TEST(how1 == Last::stored);
    BOOST_TEST(s.entries().size() == 1u);
    const auto mode = fs::status(s.entries()[0]).permissions();
    BOOST_TEST(((mode & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none));  // 0600

    auto [second, how2] = s.login("alice-ec256.pem");
    BOOST_TEST(how2 == Last::reused);
    BOOST_TEST(second.ok());
    BOOST_TEST(second.detail == first.detail);
    BOOST_TEST(second.chain_subjects == first.chain_subjects);
    BOOST_TEST(has_step(second, "chain", "signatures checked at"));
    BOOST_TEST(has_step(second, "revocation", "not revoked"));
    BOOST_TEST(second.steps.size() == first.steps.size());
}

BOOST_AUTO_TEST_CASE(the_leaf_checks_run_again_on_every_reuse) {
    Setup s;
    // The path passes for door too; the EKU step refuses, stored or reused.
    auto [a, how_a] = s.login("alice-ec256.pem", Purpose::door);
    BOOST_TEST(a.code == Code::cert_eku);
    BOOST_TEST(how_a == Last::stored);
    auto [b, how_b] = s.login("alice-ec256.pem", Purpose::door);
    BOOST_TEST(how_b == Last::reused);
    BOOST_TEST(b.code == Code::cert_eku);
    BOOST_TEST(b.detail == a.detail);
}

BOOST_AUTO_TEST_CASE(another_certificate_or_purpose_is_another_key) {
    Setup s;
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
    BOOST_TEST(s.login("bob-ec256.pem").second == Last::stored);
    BOOST_TEST(s.login("alice-ec256.pem", Purpose::tls).second == Last::stored);
    BOOST_TEST(s.entries().size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_crl_replaced_by_one_that_revokes_is_checked_at_once) {
    Setup s;
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
    // The root's new CRL revokes the issuing CA: the very next login sees it,
    // though the path itself is remembered.
    s.put("root.crl", fx("pki/root-revoked-issuing.crl"));
    FixedClock later(std::time(nullptr) + 5);
    auto [v, how] = s.login("alice-ec256.pem", Purpose::login, &later);
    BOOST_TEST(how == Last::reused);
    BOOST_TEST(v.code == Code::cert_revoked);
    BOOST_TEST(v.detail.find("depth 1") != std::string::npos, v.detail);
}

BOOST_AUTO_TEST_CASE(an_anchor_replaced_is_another_key) {
    Setup s;
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
    s.put("root.pem", fx("pki/root.pem"));  // same bytes, a new inode
    FixedClock later(std::time(nullptr) + 5);
    BOOST_TEST(s.login("alice-ec256.pem", Purpose::login, &later).second == Last::stored);
}

BOOST_AUTO_TEST_CASE(a_crl_edited_in_place_is_read_again) {
    Setup s;
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
    // Same bytes, rewritten in place: a new mtime and ctime.
    {
        std::ifstream in(s.dir / "issuing.crl", std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        in.close();
        std::ofstream out(s.dir / "issuing.crl", std::ios::binary | std::ios::trunc);
        out << bytes;
    }
    FixedClock later(std::time(nullptr) + 5);
    auto [v, how] = s.login("alice-ec256.pem", Purpose::login, &later);
    BOOST_TEST(how == Last::reused);
    BOOST_TEST(v.ok(), v.detail);
    // Edited into garbage: no usable CRL for the issuing CA's level, at once.
    { std::ofstream(s.dir / "issuing.crl", std::ios::binary | std::ios::trunc) << "garbage"; }
    auto [g, how_g] = s.login("alice-ec256.pem", Purpose::login, &later);
    BOOST_TEST(how_g == Last::reused);
    BOOST_TEST(g.code == Code::cert_revocation_unknown, g.detail);
}

BOOST_AUTO_TEST_CASE(a_stale_crl_refuses_though_the_path_is_remembered) {
    Setup s;
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
    // The fixture CRLs are current for 30 days; 31 days on they are stale.
    FixedClock stale(std::time(nullptr) + 31 * 86400);
    auto [v, how] = s.login("alice-ec256.pem", Purpose::login, &stale);
    BOOST_TEST(how == Last::reused);
    BOOST_TEST(v.code == Code::cert_revocation_unknown);
}

BOOST_AUTO_TEST_CASE(nothing_is_reused_before_the_window_opens) {
    Setup s;
    auto [first, how] = s.login("alice-ec256.pem");
    BOOST_TEST(how == Last::stored);
    BOOST_REQUIRE(first.path_window.has_value());
    // A second before the latest CRL lastUpdate / certificate notBefore.
    FixedClock early(first.path_window->from - 1);
    auto [v, how_early] = s.login("alice-ec256.pem", Purpose::login, &early);
    BOOST_TEST(how_early != Last::reused);
    BOOST_TEST(!v.ok());
}

BOOST_AUTO_TEST_CASE(refusals_are_never_stored) {
    Setup s;
    for (const char* c : {"revoked.pem", "expired.pem", "notyet.pem", "lookalike-issued.pem", "nonca-issued.pem"}) {
        BOOST_TEST_INFO(c);
        auto [v, how] = s.login(c);
        BOOST_TEST(!v.ok());
        BOOST_TEST(how == Last::checked);
    }
    BOOST_TEST(s.entries().empty());
}

BOOST_AUTO_TEST_CASE(a_status_let_through_by_on_unknown_allow_is_asked_again_on_reuse) {
    Setup s;
    s.trust.crls = {(s.dir / "issuing.crl").string()};  // no CRL for the root's own certificates
    s.trust.on_unknown_allow = true;
    auto [v, how] = s.login("alice-ec256.pem");
    BOOST_TEST(v.ok());
    BOOST_TEST(how == Last::stored);
    auto [again, how2] = s.login("alice-ec256.pem");
    BOOST_TEST(how2 == Last::reused);
    BOOST_TEST(has_step(again, "revocation", "allowed by trust.on_unknown"));
    // The same path with on_unknown = "deny": refused at once.
    s.trust.on_unknown_allow = false;
    auto [denied, how3] = s.login("alice-ec256.pem");
    BOOST_TEST(how3 == Last::reused);
    BOOST_TEST(denied.code == Code::cert_revocation_unknown);
}

BOOST_AUTO_TEST_CASE(a_racily_recent_trust_file_is_not_remembered) {
    Setup s;
    FixedClock now(std::time(nullptr));  // the copies were made in this second
    auto [v, how] = s.login("alice-ec256.pem", Purpose::login, &now);
    BOOST_TEST(v.ok());
    BOOST_TEST(how == Last::checked);
    BOOST_TEST(s.entries().empty());
}

BOOST_AUTO_TEST_CASE(an_untrusted_index_directory_is_not_used) {
    Setup s;
    chmod(s.idx().c_str(), 0777);
    auto [v, how] = s.login("alice-ec256.pem");
    BOOST_TEST(v.ok());
    BOOST_TEST(how == Last::checked);
    BOOST_TEST(s.entries().empty());
    // Nor is a stored entry, once the directory became writable by others.
    chmod(s.idx().c_str(), 0700);
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
    chmod(s.idx().c_str(), 0777);
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::checked);
}

BOOST_AUTO_TEST_CASE(no_index_directory_means_no_cache) {
    Setup s;
    Validator v(s.trust, "");
    BOOST_TEST(s.run(v, "alice-ec256.pem").ok());
    BOOST_TEST(v.last() == Last::checked);
    Validator missing(s.trust, (s.dir / "does-not-exist").string());
    BOOST_TEST(s.run(missing, "alice-ec256.pem").ok());
    BOOST_TEST(missing.last() == Last::checked);
}

BOOST_AUTO_TEST_CASE(a_writable_or_foreign_entry_is_ignored) {
    Setup s;
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
    const auto e = s.entries().at(0);
    chmod(e.c_str(), 0666);
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);  // ignored, then rewritten 0600
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::reused);
    if (geteuid() == 0) {
        BOOST_REQUIRE(chown(s.entries().at(0).c_str(), 4242, 4242) == 0);
        BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
    }
}

BOOST_AUTO_TEST_CASE(an_entry_moved_to_another_key_is_ignored) {
    Setup s;
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
    const auto alice = s.entries().at(0);
    BOOST_TEST(s.login("revoked.pem").second == Last::checked);  // never stored
    // Pretend alice's entry is the revoked certificate's: the key inside differs.
    BOOST_TEST(s.login("bob-ec256.pem").second == Last::stored);
    fs::path bob;
    for (const auto& p : s.entries())
        if (p != alice) bob = p;
    fs::copy_file(alice, bob, fs::copy_options::overwrite_existing);
    chmod(bob.c_str(), 0600);
    BOOST_TEST(s.login("bob-ec256.pem").second == Last::stored);
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::reused);
}

BOOST_AUTO_TEST_CASE(a_truncated_or_padded_entry_is_ignored) {
    Setup s;
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
    const auto e = s.entries().at(0);
    const auto size = fs::file_size(e);
    for (std::uintmax_t cut : {size - 1, size - 9, std::uintmax_t{40}, std::uintmax_t{0}}) {
        BOOST_TEST_INFO("truncated to " << cut);
        fs::resize_file(e, cut);
        BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
    }
    { std::ofstream(e, std::ios::app) << "x"; }
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
}

BOOST_AUTO_TEST_CASE(a_symlinked_entry_is_ignored) {
    Setup s;
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
    const auto e = s.entries().at(0);
    fs::rename(e, s.dir / "elsewhere");
    fs::create_symlink(s.dir / "elsewhere", e);
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);  // replaced by a regular file
    BOOST_TEST(fs::is_regular_file(fs::symlink_status(e)));
}

BOOST_AUTO_TEST_CASE(a_trust_file_gone_is_an_error_even_with_an_entry) {
    Setup s;
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
    fs::remove(s.dir / "issuing.pem");
    Validator v(s.trust, s.idx());
    auto r = v.validate(leaf("alice-ec256.pem"), Purpose::login, default_purpose_config(Purpose::login), s.clock);
    BOOST_TEST(!r.ok());
    if (!r.ok()) BOOST_TEST(r.error().code() == Code::config_file);
}

BOOST_AUTO_TEST_CASE(a_trust_file_made_writable_is_refused_not_reused) {
    Setup s;
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
    chmod((s.dir / "issuing.crl").c_str(), 0666);
    FixedClock later(std::time(nullptr) + 5);
    Validator v(s.trust, s.idx());
    auto r = v.validate(leaf("alice-ec256.pem"), Purpose::login, default_purpose_config(Purpose::login), later);
    BOOST_TEST(!r.ok());
    if (!r.ok()) BOOST_TEST(r.error().code() == Code::config_file);
}

BOOST_AUTO_TEST_CASE(expired_entries_are_pruned_when_a_new_one_is_stored) {
    Setup s;
    BOOST_TEST(s.login("alice-ec256.pem").second == Last::stored);
    const auto old = s.entries().at(0);
    // Its expiry (the file's mtime) in the past: removed by the next store.
    const struct timespec past[2] = {{0, UTIME_NOW}, {std::time(nullptr) - 10, 0}};
    BOOST_REQUIRE(utimensat(AT_FDCWD, old.c_str(), past, 0) == 0);
    BOOST_TEST(s.login("bob-ec256.pem").second == Last::stored);
    BOOST_TEST(!fs::exists(old));
    BOOST_TEST(s.entries().size() == 1u);
}

BOOST_AUTO_TEST_CASE(one_validator_loads_the_store_once_for_several_certificates) {
    Setup s;
    Validator v(s.trust, s.idx());
    BOOST_TEST(s.run(v, "alice-ec256.pem").ok());
    BOOST_TEST(v.last() == Last::stored);
    BOOST_TEST(s.run(v, "alice-ec256.pem").ok());
    BOOST_TEST(v.last() == Last::reused);
    BOOST_TEST(s.run(v, "revoked.pem").code == Code::cert_revoked);
    BOOST_TEST(v.last() == Last::checked);
}
