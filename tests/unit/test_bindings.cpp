// The strong bindings file (bindings.hpp) and its derived index
// (index_file.hpp): strict line parsing with errors naming path:line, every
// kind of binding, lookups, check-config's report, and an index that only ever
// saves time -- a stale, tampered or untrusted one is ignored and lookups stay
// correct.
#define BOOST_TEST_MODULE bindings
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <openssl/evp.h>

#include "src/bindings.hpp"
#include "src/index_file.hpp"
#include "tests/unit/certgen.hpp"

namespace cardgate {
std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
std::ostream& operator<<(std::ostream& os, BindingKind k) { return os << binding_kind_name(k); }
}  // namespace cardgate

using namespace cardgate;
using namespace std::string_literals;
using certgen::Builder;
namespace fs = std::filesystem;

namespace {

// ----------------------------------------------------------------- helpers

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/cardgate-bindings-XXXXXX";
        BOOST_REQUIRE(mkdtemp(tmpl));  // mode 0700
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string operator/(const std::string& name) const { return path + "/" + name; }
};

void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        BOOST_REQUIRE_MESSAGE(out.good(), "cannot write " << path);
        out << text;
    }
    BOOST_REQUIRE(::chmod(path.c_str(), mode) == 0);
}

void append_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    BOOST_REQUIRE(out.good());
    out << text;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    BOOST_REQUIRE_MESSAGE(in.good(), "cannot read " << path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string sha256_hex(const std::string& bytes) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    BOOST_REQUIRE(EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) == 1);
    return to_hex({md, n});
}

std::string upper(std::string s) {
    for (char& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return s;
}

std::optional<Binding> parse_ok(std::string_view line) {
    auto r = parse_binding_line(line);
    BOOST_REQUIRE_MESSAGE(r.ok(), "parse_binding_line(\"" << line << "\"): " << (r.ok() ? "" : r.error().detail()));
    return *r;
}

void parse_refused(std::string_view line, std::string_view why_contains) {
    BOOST_TEST_CONTEXT("line \"" << line.substr(0, 100) << "\"") {
        auto r = parse_binding_line(line);
        BOOST_REQUIRE(!r.ok());
        BOOST_TEST(r.code() == Code::config_value);
        BOOST_TEST(r.error().detail().find(why_contains) != std::string::npos, r.error().detail());
    }
}

BindingsFile open_ok(const std::string& path, const IndexDir* dir = nullptr) {
    auto r = BindingsFile::open(path, dir);
    BOOST_REQUIRE_MESSAGE(r.ok(), "open " << path << ": " << (r.ok() ? "" : r.error().message()));
    return std::move(r).value();
}

std::vector<std::string> users(const BindingsFile& f, const Certificate& c) {
    auto hits = f.lookup(c);
    BOOST_REQUIRE_MESSAGE(hits.ok(), "lookup: " << (hits.ok() ? "" : hits.error().message()));
    std::vector<std::string> out;
    for (const auto& h : *hits) out.push_back(h.binding.user);
    return out;
}

using Users = std::vector<std::string>;

// Four badges, one per kind of binding, and one nobody bound (it carries a
// copy of Dave's SKI, which is not derived from its own key).
struct Badges {
    Certificate alice = Builder().subject("CN", "Alice").subject("UID", "alice").serial("A11CE1").build();
    Certificate bob = Builder().subject("CN", "Bob").subject("UID", "bob").serial("B0B0B0").build();
    Certificate carol = Builder().subject("CN", "Carol").subject("UID", "carol").serial("1A2B3C").build();
    Certificate dave = Builder().subject("CN", "Dave").subject("UID", "dave").serial("DA7E").ski_from_key().build();
    Certificate stranger =
        Builder().subject("CN", "Mallory").subject("UID", "mallory").serial("5712A4").ski(dave.ski()).build();

    std::string lines() const {
        return "alice spki-sha256 " + alice.spki_sha256() + "\n" + "bob cert-sha256 " + bob.sha256() + "\n" +
               "carol issuer-serial " + carol.serial_hex() + " " + certgen::example_issuer + "\n" + "dave ski " +
               dave.ski() + "\n";
    }
};

const Badges& badges() {
    static const Badges b;
    return b;
}

// A file of `n` filler bindings (spki-sha256 of nothing real) after `head`.
std::string filler(std::size_t n) {
    std::string out;
    out.reserve(n * 90);
    char user[16];
    for (std::size_t i = 0; i < n; ++i) {
        std::snprintf(user, sizeof user, "u%05zu", i);
        out += std::string(user) + " spki-sha256 " + sha256_hex("filler " + std::to_string(i)) + "\n";
    }
    return out;
}

std::size_t index_files(const std::string& dir) {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".idx") ++n;
    return n;
}

std::string the_index_file(const std::string& dir) {
    std::string found;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".idx") found = e.path().string();
    BOOST_REQUIRE_MESSAGE(!found.empty(), "no index file in " << dir);
    return found;
}

void expect_all_lookups_correct(const BindingsFile& f) {
    const Badges& b = badges();
    BOOST_TEST(users(f, b.alice) == Users{"alice"});
    BOOST_TEST(users(f, b.bob) == Users{"bob"});
    BOOST_TEST(users(f, b.carol) == Users{"carol"});
    BOOST_TEST(users(f, b.dave) == Users{"dave"});
    BOOST_TEST(users(f, b.stranger).empty());
}

// Files written once, then left alone for more than two seconds, so that the
// kernel's ctime is old enough for an index to be written ("racily clean").
// The only wait in this program.
struct Aged {
    TempDir dir;
    std::string big, spare, exactly_1024, just_1023, small;
    Aged() {
        const std::string head = "# bindings for the index tests\n" + badges().lines();
        big = dir / "big";
        spare = dir / "spare";
        exactly_1024 = dir / "exactly-1024";
        just_1023 = dir / "just-1023";
        small = dir / "small";
        write_file(big, head + filler(1100));
        write_file(spare, head + filler(1100));
        write_file(exactly_1024, head + filler(1020));
        write_file(just_1023, head + filler(1019));
        write_file(small, head + filler(10));
        std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    }
};

Aged& aged() {
    static Aged a;
    return a;
}

// An index directory (mode 0700) holding a valid index of aged().big.
struct IndexedBig {
    TempDir idx;
    IndexDir dir{idx.path};
    IndexedBig() {
        auto first = open_ok(aged().big, &dir);
        BOOST_REQUIRE(!first.from_index());
        BOOST_REQUIRE(index_files(idx.path) == 1);
        BOOST_REQUIRE(open_ok(aged().big, &dir).from_index());
    }
    std::string file() const { return the_index_file(idx.path); }
};

}  // namespace

// ================================================================= parse_binding_line

BOOST_AUTO_TEST_SUITE(line_syntax)

BOOST_AUTO_TEST_CASE(spki_sha256_line_is_parsed_and_lower_cased) {
    const std::string hex = sha256_hex("x");
    auto b = parse_ok("alice spki-sha256 " + upper(hex));
    BOOST_REQUIRE(b);
    BOOST_TEST(b->user == "alice");
    BOOST_TEST(b->kind == BindingKind::spki_sha256);
    BOOST_TEST(b->value == hex);
}

BOOST_AUTO_TEST_CASE(cert_sha256_line_is_parsed) {
    const std::string hex = sha256_hex("y");
    auto b = parse_ok("bob\tcert-sha256\t" + hex);
    BOOST_REQUIRE(b);
    BOOST_TEST(b->kind == BindingKind::cert_sha256);
    BOOST_TEST(b->value == hex);
}

BOOST_AUTO_TEST_CASE(issuer_serial_keeps_the_dn_and_normalises_the_serial) {
    auto b = parse_ok("carol issuer-serial 0001a2b3c CN=Example Issuing CA,O=Example Corp  ");
    BOOST_REQUIRE(b);
    BOOST_TEST(b->kind == BindingKind::issuer_serial);
    BOOST_TEST(b->value == "1A2B3C");
    BOOST_TEST(b->issuer == "CN=Example Issuing CA,O=Example Corp");
    BOOST_TEST(parse_ok("carol issuer-serial 0000 CN=X")->value == "0");
}

BOOST_AUTO_TEST_CASE(issuer_dn_may_contain_hash_and_spaces) {
    auto b = parse_ok("carol issuer-serial 1A CN=Team \\#1 CA,O=Example Corp");
    BOOST_REQUIRE(b);
    BOOST_TEST(b->issuer == "CN=Team \\#1 CA,O=Example Corp");
}

BOOST_AUTO_TEST_CASE(ski_line_is_parsed_and_lower_cased) {
    auto b = parse_ok("dave ski 0123456789ABCDEF");
    BOOST_REQUIRE(b);
    BOOST_TEST(b->kind == BindingKind::ski);
    BOOST_TEST(b->value == "0123456789abcdef");
}

BOOST_AUTO_TEST_CASE(blank_and_comment_lines_are_nothing) {
    for (const char* line : {"", "   ", "\t", "# a comment", "   # indented comment", "#alice spki-sha256 00", "\r",
                             "# comment with \x01 control"}) {
        BOOST_TEST_INFO("line \"" << line << "\"");
        BOOST_TEST(!parse_ok(line).has_value());
    }
}

BOOST_AUTO_TEST_CASE(crlf_line_ending_is_accepted) {
    const std::string hex = sha256_hex("z");
    BOOST_TEST(parse_ok("alice spki-sha256 " + hex + "\r")->value == hex);
    BOOST_TEST(parse_ok("carol issuer-serial 1A CN=Example Issuing CA,O=Example Corp\r")->issuer ==
               "CN=Example Issuing CA,O=Example Corp");
}

BOOST_AUTO_TEST_CASE(unknown_kind_is_refused) {
    parse_refused("alice spki-sha1 " + sha256_hex("x"), "unknown kind \"spki-sha1\"");
    parse_refused("alice SPKI-SHA256 " + sha256_hex("x"), "unknown kind");
    parse_refused("alice sha256 " + sha256_hex("x"), "unknown kind");
}

BOOST_AUTO_TEST_CASE(missing_kind_or_value_is_refused) {
    parse_refused("alice", "expected \"USER KIND VALUE\"");
    parse_refused("alice spki-sha256", "value missing");
    parse_refused("alice spki-sha256   ", "value missing");
    parse_refused("carol issuer-serial 1A2B3C", "issuer DN missing");
    parse_refused("carol issuer-serial 1A2B3C   ", "issuer DN missing");
}

BOOST_AUTO_TEST_CASE(digest_of_the_wrong_length_is_refused) {
    const std::string hex = sha256_hex("x");
    parse_refused("alice spki-sha256 " + hex.substr(1), "expected 64 hex digits");
    parse_refused("alice cert-sha256 " + hex + "0", "expected 64 hex digits");
    parse_refused("alice cert-sha256 " + hex.substr(0, 40), "got 40");
}

BOOST_AUTO_TEST_CASE(non_hex_value_is_refused) {
    std::string hex = sha256_hex("x");
    hex[10] = 'g';
    parse_refused("alice spki-sha256 " + hex, "is not hex");
    parse_refused("alice ski 0x01234567", "is not hex");
    parse_refused("carol issuer-serial -1A2B CN=X", "is not hex");
    parse_refused("carol issuer-serial 1A:2B CN=X", "is not hex");
}

BOOST_AUTO_TEST_CASE(trailing_junk_is_refused) {
    const std::string hex = sha256_hex("x");
    parse_refused("alice spki-sha256 " + hex + " bob", "unexpected text after the value");
    parse_refused("alice spki-sha256 " + hex + " # comment", "unexpected text after the value");
    parse_refused("dave ski 0123456789abcdef extra", "unexpected text after the value");
}

BOOST_AUTO_TEST_CASE(bad_ski_lengths_are_refused) {
    parse_refused("dave ski 0123456", "even number");
    parse_refused("dave ski 012345", "8 to 128");
    parse_refused("dave ski " + std::string(130, 'a'), "8 to 128");
}

BOOST_AUTO_TEST_CASE(overlong_serial_is_refused) {
    parse_refused("carol issuer-serial " + std::string(65, '1') + " CN=X", "longer than 64");
}

BOOST_AUTO_TEST_CASE(bad_issuer_dn_is_refused) {
    parse_refused("carol issuer-serial 1A Bogus=X", "not an RFC 4514 DN");
    parse_refused("carol issuer-serial 1A CN=#0403616263", "not an RFC 4514 DN");
    parse_refused("carol issuer-serial 1A CN=X, O=Y", "not an RFC 4514 DN");
}

BOOST_AUTO_TEST_CASE(bad_user_names_are_refused) {
    const std::string hex = sha256_hex("x");
    for (const std::string& user : {"al;ice"s, "-alice"s, "ali(ce"s, "ali*"s, "al|ice"s, "ali\\ce"s, "a/b"s, "a:b"s,
                                    ".alice"s, std::string(65, 'a')}) {
        parse_refused(user + " spki-sha256 " + hex, "user \"");
    }
    parse_refused("\xC3\xA4lice spki-sha256 " + hex, "user \"");
}

BOOST_AUTO_TEST_CASE(nul_byte_is_refused) {
    parse_refused("alice spki-sha256 " + sha256_hex("x") + "\0"s, "NUL");
    parse_refused("ali\0ce spki-sha256 "s + sha256_hex("x"), "NUL");
}

BOOST_AUTO_TEST_CASE(control_characters_are_refused) {
    parse_refused("alice spki-sha256\x0b" + sha256_hex("x"), "control character");
    parse_refused("carol issuer-serial 1A CN=X\rO=Y", "control character");
    parse_refused("carol issuer-serial 1A CN=X\x1b[2J", "control character");
}

BOOST_AUTO_TEST_CASE(overlong_line_is_refused) {
    parse_refused("carol issuer-serial 1A CN=" + std::string(4100, 'a'), "longer than 4096");
}

BOOST_AUTO_TEST_CASE(non_utf8_line_is_refused) {
    parse_refused("carol issuer-serial 1A CN=caf\xE9,O=Example", "not valid UTF-8");
    parse_refused("carol issuer-serial 1A CN=\xC0\xAF", "not valid UTF-8");
}

BOOST_AUTO_TEST_CASE(kind_names_round_trip) {
    BOOST_TEST(binding_kind_name(BindingKind::spki_sha256) == "spki-sha256");
    BOOST_TEST(binding_kind_name(BindingKind::cert_sha256) == "cert-sha256");
    BOOST_TEST(binding_kind_name(BindingKind::issuer_serial) == "issuer-serial");
    BOOST_TEST(binding_kind_name(BindingKind::ski) == "ski");
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= binding_matches

BOOST_AUTO_TEST_SUITE(matching)

BOOST_AUTO_TEST_CASE(each_kind_names_its_certificate_and_no_other) {
    const Badges& b = badges();
    std::istringstream in(b.lines());
    std::string line;
    std::vector<Binding> all;
    while (std::getline(in, line)) all.push_back(*parse_ok(line));
    BOOST_REQUIRE(all.size() == 4);
    const Certificate* certs[] = {&b.alice, &b.bob, &b.carol, &b.dave};
    for (std::size_t i = 0; i < all.size(); ++i)
        for (std::size_t j = 0; j < 4; ++j) {
            BOOST_TEST_INFO(all[i].kind << " of " << all[i].user << " against certificate " << j);
            BOOST_TEST(binding_matches(all[i], *certs[j]) == (i == j));
        }
}

BOOST_AUTO_TEST_CASE(spki_binding_survives_reissue_with_the_same_key) {
    auto key = certgen::new_key();
    const auto old_cert = Builder().subject("CN", "Alice").serial("01").key(key).build();
    const auto renewed = Builder().subject("CN", "Alice").serial("02").key(key).build();
    auto b = parse_ok("alice spki-sha256 " + old_cert.spki_sha256());
    BOOST_TEST(binding_matches(*b, renewed));
    auto c = parse_ok("alice cert-sha256 " + old_cert.sha256());
    BOOST_TEST(!binding_matches(*c, renewed));
}

BOOST_AUTO_TEST_CASE(issuer_serial_compares_the_issuer_canonically) {
    const auto c = Builder().subject("CN", "Carol").serial("1A2B3C").build();
    BOOST_TEST(binding_matches(*parse_ok("carol issuer-serial 1A2B3C cn=example  issuing ca,o=EXAMPLE CORP"), c));
    BOOST_TEST(binding_matches(*parse_ok("carol issuer-serial 001a2b3c CN=Example Issuing CA,O=Example Corp"), c));
}

BOOST_AUTO_TEST_CASE(issuer_serial_from_a_look_alike_issuer_does_not_match) {
    const auto c = Builder().subject("CN", "Carol").serial("1A2B3C").build();
    BOOST_TEST(!binding_matches(*parse_ok("carol issuer-serial 1A2B3C CN=Example lssuing CA,O=Example Corp"), c));
    BOOST_TEST(!binding_matches(*parse_ok("carol issuer-serial 1A2B3C O=Example Corp,CN=Example Issuing CA"), c));
    BOOST_TEST(!binding_matches(*parse_ok("carol issuer-serial 1A2B3C CN=Example Issuing CA"), c));
}

BOOST_AUTO_TEST_CASE(issuer_serial_with_another_serial_does_not_match) {
    const auto c = Builder().subject("CN", "Carol").serial("1A2B3C").build();
    BOOST_TEST(!binding_matches(*parse_ok("carol issuer-serial 1A2B3D CN=Example Issuing CA,O=Example Corp"), c));
    BOOST_TEST(!binding_matches(*parse_ok("carol issuer-serial 1A2B3C00 CN=Example Issuing CA,O=Example Corp"), c));
}

// A serial whose hex has an odd number of digits (0xABC; one in sixteen
// random serials starts with a zero nibble) must be bindable however it is
// written: "ABC", "0ABC", "000abc".
BOOST_AUTO_TEST_CASE(issuer_serial_with_odd_number_of_hex_digits_matches) {
    const auto c = Builder().subject("CN", "Carol").serial("ABC").build();
    for (const char* written : {"ABC", "0ABC", "000abc"}) {
        BOOST_TEST_INFO("serial written as " << written << ", certificate serial_hex() = " << c.serial_hex());
        BOOST_TEST(binding_matches(
            *parse_ok("carol issuer-serial " + std::string(written) + " CN=Example Issuing CA,O=Example Corp"), c));
    }
}

BOOST_AUTO_TEST_CASE(ski_not_derived_from_the_key_never_matches) {
    const Badges& b = badges();
    BOOST_REQUIRE(b.dave.ski_from_key());
    BOOST_REQUIRE(b.stranger.ski() == b.dave.ski());
    BOOST_REQUIRE(!b.stranger.ski_from_key());
    auto binding = parse_ok("dave ski " + b.dave.ski());
    BOOST_TEST(binding_matches(*binding, b.dave));
    BOOST_TEST(!binding_matches(*binding, b.stranger));
    // Even bound by that very value, an arbitrary SKI is no key binding.
    const auto arbitrary = Builder().subject("CN", "x").ski("0123456789abcdef").build();
    BOOST_TEST(!binding_matches(*parse_ok("dave ski 0123456789abcdef"), arbitrary));
}

BOOST_AUTO_TEST_CASE(ski_binding_never_matches_a_certificate_without_ski) {
    const auto c = Builder().subject("CN", "No SKI").build();
    BOOST_REQUIRE(c.ski().empty());
    BOOST_TEST(!binding_matches(*parse_ok("dave ski 0123456789abcdef"), c));
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= BindingsFile

BOOST_AUTO_TEST_SUITE(file)

BOOST_AUTO_TEST_CASE(every_kind_is_found_by_lookup) {
    TempDir d;
    write_file(d / "bindings", "# user kind value\n\n" + badges().lines());
    auto f = open_ok(d / "bindings");
    BOOST_TEST(f.size() == 4u);
    BOOST_TEST(!f.from_index());
    expect_all_lookups_correct(f);
}

BOOST_AUTO_TEST_CASE(hits_name_path_and_line_in_file_order) {
    TempDir d;
    const Badges& b = badges();
    const std::string path = d / "bindings";
    write_file(path, "# header\n"
                     "bob cert-sha256 " + b.alice.sha256() + "\n"
                     "\n"
                     "alice spki-sha256 " + b.alice.spki_sha256() + "\n");
    auto f = open_ok(path);
    auto hits = f.lookup(b.alice);
    BOOST_REQUIRE(hits.ok());
    BOOST_REQUIRE(hits->size() == 2u);
    BOOST_TEST((*hits)[0].binding.user == "bob");
    BOOST_TEST((*hits)[0].source == path + ":2");
    BOOST_TEST((*hits)[0].binding.line == 2u);
    BOOST_TEST((*hits)[1].binding.user == "alice");
    BOOST_TEST((*hits)[1].source == path + ":4");
}

BOOST_AUTO_TEST_CASE(crlf_file_is_read_and_looked_up) {
    TempDir d;
    std::string text = badges().lines();
    std::string crlf;
    for (char c : text) crlf += c == '\n' ? "\r\n"s : std::string(1, c);
    write_file(d / "bindings", "# written on Windows\r\n" + crlf);
    auto f = open_ok(d / "bindings");
    expect_all_lookups_correct(f);
}

BOOST_AUTO_TEST_CASE(last_line_without_newline_is_read) {
    TempDir d;
    write_file(d / "bindings", "alice spki-sha256 " + badges().alice.spki_sha256());
    BOOST_TEST(users(open_ok(d / "bindings"), badges().alice) == Users{"alice"});
}

BOOST_AUTO_TEST_CASE(line_of_exactly_4096_bytes_is_read_and_looked_up) {
    TempDir d;
    const auto& alice = badges().alice;
    std::string line = "alice spki-sha256 " + alice.spki_sha256();
    line.resize(4096, ' ');
    BOOST_REQUIRE(parse_binding_line(line).ok());
    BOOST_TEST(parse_binding_line(line + " ").code() == Code::config_value);
    write_file(d / "bindings", "# CRLF\r\n" + line + "\r\nbob cert-sha256 " + badges().bob.sha256() + "\r\n");
    auto f = open_ok(d / "bindings");
    BOOST_TEST(users(f, alice) == Users{"alice"});
    BOOST_TEST(users(f, badges().bob) == Users{"bob"});
}

BOOST_AUTO_TEST_CASE(byte_order_mark_is_refused_at_line_1) {
    TempDir d;
    const std::string path = d / "bindings";
    write_file(path, "\xEF\xBB\xBF" + badges().lines());
    auto r = BindingsFile::open(path, nullptr);
    BOOST_TEST(r.code() == Code::config_value);
    BOOST_TEST((!r.ok() && r.error().detail().rfind(path + ":1: ", 0) == 0));
}

BOOST_AUTO_TEST_CASE(issuer_serial_lookup_compares_issuer_canonically) {
    TempDir d;
    const auto& carol = badges().carol;
    write_file(d / "bindings", "carol issuer-serial 00" + carol.serial_hex() + " cn=EXAMPLE issuing ca,o=example corp\n"
                               "mallory issuer-serial " + carol.serial_hex() + " CN=Example lssuing CA,O=Example Corp\n");
    auto f = open_ok(d / "bindings");
    BOOST_TEST(users(f, carol) == Users{"carol"});
}

BOOST_AUTO_TEST_CASE(issuer_serial_lookup_with_odd_number_of_hex_digits) {
    TempDir d;
    const auto c = Builder().subject("CN", "Carol").serial("ABC").build();
    write_file(d / "bindings", "carol issuer-serial ABC CN=Example Issuing CA,O=Example Corp\n");
    BOOST_TEST(users(open_ok(d / "bindings"), c) == Users{"carol"}, "certificate serial_hex() = " << c.serial_hex());
}

BOOST_AUTO_TEST_CASE(one_key_bound_to_two_users_gives_two_hits) {
    TempDir d;
    const auto& alice = badges().alice;
    write_file(d / "bindings", "alice spki-sha256 " + alice.spki_sha256() + "\nbob spki-sha256 " +
                                   alice.spki_sha256() + "\n");
    BOOST_TEST(users(open_ok(d / "bindings"), alice) == (Users{"alice", "bob"}));
}

BOOST_AUTO_TEST_CASE(bad_line_refuses_the_whole_file_naming_path_and_line) {
    TempDir d;
    const std::string path = d / "bindings";
    write_file(path, badges().lines() + "# fine\nerin spki-sha257 " + sha256_hex("x") + "\n");
    auto r = BindingsFile::open(path, nullptr);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.code() == Code::config_value);
    BOOST_TEST(r.error().detail().rfind(path + ":6: ", 0) == 0, r.error().detail());
    BOOST_TEST(r.error().detail().find("unknown kind") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_lines_of_every_sort_are_located) {
    TempDir d;
    const std::string path = d / "bindings";
    const std::string hex = sha256_hex("x");
    const std::string bad_lines[] = {
        "alice spki-sha256 " + hex.substr(2),
        "alice spki-sha256 " + hex + " junk",
        "al;ice spki-sha256 " + hex,
        "alice spki-sha256 " + hex + "\0"s,
        "carol issuer-serial 1A CN=" + std::string(4100, 'x'),
        "carol issuer-serial 1A CN=caf\xE9",
    };
    for (const auto& bad : bad_lines) {
        BOOST_TEST_CONTEXT("bad line \"" << bad.substr(0, 60) << "\"") {
            write_file(path, "# ok\nalice spki-sha256 " + hex + "\n" + bad + "\n");
            auto r = BindingsFile::open(path, nullptr);
            BOOST_REQUIRE(!r.ok());
            BOOST_TEST(r.code() == Code::config_value);
            BOOST_TEST(r.error().detail().rfind(path + ":3: ", 0) == 0, r.error().detail());
        }
    }
}

BOOST_AUTO_TEST_CASE(empty_file_binds_nothing) {
    TempDir d;
    write_file(d / "bindings", "");
    auto f = open_ok(d / "bindings");
    BOOST_TEST(f.size() == 0u);
    BOOST_TEST(users(f, badges().alice).empty());
}

BOOST_AUTO_TEST_CASE(missing_file_is_config_io) {
    TempDir d;
    auto r = BindingsFile::open(d / "absent", nullptr);
    BOOST_TEST(r.code() == Code::config_io);
}

BOOST_AUTO_TEST_CASE(directory_or_fifo_is_config_file) {
    TempDir d;
    BOOST_REQUIRE(::mkdir((d / "dir").c_str(), 0700) == 0);
    BOOST_TEST(BindingsFile::open(d / "dir", nullptr).code() == Code::config_file);
    BOOST_REQUIRE(::mkfifo((d / "fifo").c_str(), 0600) == 0);
    BOOST_TEST(BindingsFile::open(d / "fifo", nullptr).code() == Code::config_file);
}

BOOST_AUTO_TEST_CASE(world_writable_file_is_config_file) {
    TempDir d;
    write_file(d / "bindings", badges().lines(), 0646);
    BOOST_TEST(BindingsFile::open(d / "bindings", nullptr).code() == Code::config_file);
}

BOOST_AUTO_TEST_CASE(file_writable_by_a_non_root_group_is_config_file) {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("not root: cannot give a file to another group; skipped");
        return;
    }
    TempDir d;
    write_file(d / "bindings", badges().lines(), 0660);
    BOOST_REQUIRE(::chown((d / "bindings").c_str(), static_cast<uid_t>(-1), 4242) == 0);
    BOOST_TEST(BindingsFile::open(d / "bindings", nullptr).code() == Code::config_file);
}

BOOST_AUTO_TEST_CASE(file_owned_by_someone_else_is_config_file) {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("not root: cannot give a file away; skipped");
        return;
    }
    TempDir d;
    write_file(d / "bindings", badges().lines(), 0644);
    BOOST_REQUIRE(::chown((d / "bindings").c_str(), 4242, 4242) == 0);
    BOOST_TEST(BindingsFile::open(d / "bindings", nullptr).code() == Code::config_file);
}

BOOST_AUTO_TEST_CASE(file_in_a_world_writable_directory_is_config_file) {
    TempDir d;
    BOOST_REQUIRE(::mkdir((d / "open").c_str(), 0700) == 0);
    BOOST_REQUIRE(::chmod((d / "open").c_str(), 0777) == 0);
    write_file(d / "open/bindings", badges().lines());
    BOOST_TEST(BindingsFile::open(d / "open/bindings", nullptr).code() == Code::config_file);
}

BOOST_AUTO_TEST_CASE(file_truncated_after_open_fails_lookup_instead_of_guessing) {
    TempDir d;
    const std::string path = d / "bindings";
    write_file(path, badges().lines());
    auto f = open_ok(path);
    BOOST_REQUIRE(::truncate(path.c_str(), 0) == 0);
    auto hits = f.lookup(badges().bob);
    BOOST_REQUIRE(!hits.ok());
    BOOST_TEST(hits.code() == Code::config_io);
}

BOOST_AUTO_TEST_CASE(line_turned_into_a_comment_after_open_fails_lookup) {
    TempDir d;
    const std::string path = d / "bindings";
    write_file(path, badges().lines());
    auto f = open_ok(path);
    std::string text = slurp(path);
    text[0] = '#';  // "#lice spki-sha256 ..."
    {
        std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
        io.seekp(0);
        io.write(text.data(), 1);
    }
    auto hits = f.lookup(badges().alice);
    BOOST_REQUIRE(!hits.ok());
    BOOST_TEST(hits.code() == Code::config_io);
    BOOST_TEST(hits.error().detail().find(":1: changed while in use") != std::string::npos, hits.error().detail());
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= check

BOOST_AUTO_TEST_SUITE(check)

BOOST_AUTO_TEST_CASE(check_collects_every_bad_line) {
    TempDir d;
    const std::string path = d / "bindings";
    const std::string hex = sha256_hex("x");
    write_file(path, "alice spki-sha256 " + hex + "\n"              // 1 ok
                     "bob spki-sha256 " + hex.substr(1) + "\n"      // 2 short
                     "# comment\n"                                  // 3
                     "carol magic " + hex + "\n"                    // 4 unknown kind
                     "dave ski 0123456789abcdef\n"                  // 5 ok
                     "-erin ski 0123456789abcdef\n");               // 6 bad user
    auto rep = BindingsFile::check(path);
    BOOST_REQUIRE(rep.ok());
    BOOST_TEST(rep->bindings == 2u);
    BOOST_REQUIRE(rep->errors.size() == 3u);
    BOOST_TEST(rep->errors[0].rfind(path + ":2: ", 0) == 0, rep->errors[0]);
    BOOST_TEST(rep->errors[1].rfind(path + ":4: ", 0) == 0, rep->errors[1]);
    BOOST_TEST(rep->errors[2].rfind(path + ":6: ", 0) == 0, rep->errors[2]);
    BOOST_TEST(rep->warnings.empty());
}

BOOST_AUTO_TEST_CASE(check_stops_collecting_at_the_limit) {
    TempDir d;
    std::string text;
    for (int i = 0; i < 10; ++i) text += "user" + std::to_string(i) + " bogus-kind 00\n";
    write_file(d / "bindings", text);
    auto rep = BindingsFile::check(d / "bindings", 3);
    BOOST_REQUIRE(rep.ok());
    BOOST_TEST(rep->errors.size() == 3u);
}

BOOST_AUTO_TEST_CASE(check_warns_about_a_key_bound_to_two_users) {
    TempDir d;
    const std::string path = d / "bindings";
    const auto& a = badges().alice;
    write_file(path, "alice spki-sha256 " + a.spki_sha256() + "\n"
                     "alice spki-sha256 " + upper(a.spki_sha256()) + "\n"  // same user again: no warning
                     "bob spki-sha256 " + upper(a.spki_sha256()) + "\n"    // another user: warning
                     "carol issuer-serial 1A CN=Example Issuing CA,O=Example Corp\n"
                     "dave issuer-serial 001a cn=example issuing ca,o=example corp\n");
    auto rep = BindingsFile::check(path);
    BOOST_REQUIRE(rep.ok());
    BOOST_TEST(rep->bindings == 5u);
    BOOST_TEST(rep->errors.empty());
    BOOST_REQUIRE(rep->warnings.size() == 2u);
    BOOST_TEST(rep->warnings[0].rfind(path + ":3: ", 0) == 0, rep->warnings[0]);
    BOOST_TEST(rep->warnings[0].find("line 1") != std::string::npos, rep->warnings[0]);
    BOOST_TEST(rep->warnings[1].rfind(path + ":5: ", 0) == 0, rep->warnings[1]);
}

BOOST_AUTO_TEST_CASE(check_refuses_an_unprotected_file) {
    TempDir d;
    write_file(d / "bindings", badges().lines(), 0666);
    BOOST_TEST(BindingsFile::check(d / "bindings").code() == Code::config_file);
    BOOST_TEST(BindingsFile::check(d / "absent").code() == Code::config_io);
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= index_file

BOOST_AUTO_TEST_SUITE(index_file)

namespace {
FileIdentity old_identity() {
    FileIdentity id;
    id.dev = 1;
    id.ino = 2;
    id.size = 3;
    id.mtime_sec = id.ctime_sec = std::time(nullptr) - 60;
    id.mode = 0100600;
    id.uid = ::geteuid();
    return id;
}
std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
}  // namespace

BOOST_AUTO_TEST_CASE(identity_is_recent_when_either_time_is) {
    FileIdentity id = old_identity();
    const std::int64_t now = std::time(nullptr);
    BOOST_TEST(!id.recent(now));
    id.mtime_sec = now - 1;
    BOOST_TEST(id.recent(now));
    id = old_identity();
    id.ctime_sec = now;
    BOOST_TEST(id.recent(now));
    id.ctime_sec = now - 2;
    BOOST_TEST(!id.recent(now));
}

BOOST_AUTO_TEST_CASE(stored_payload_is_read_back_only_for_the_same_identity_kind_and_version) {
    TempDir d;
    IndexDir dir(d.path);
    const FileIdentity id = old_identity();
    const std::string payload = "0123456789abcdef0123456789abcdef";
    BOOST_REQUIRE(dir.store("bindings", 1, "/etc/x", id, bytes(payload)));
    auto m = dir.open("bindings", 1, "/etc/x", id);
    BOOST_REQUIRE(m);
    BOOST_TEST(std::string(reinterpret_cast<const char*>(m->payload().data()), m->payload().size()) == payload);

    FileIdentity other = id;
    other.ctime_nsec += 1;
    BOOST_TEST(!dir.open("bindings", 1, "/etc/x", other));
    BOOST_TEST(!dir.open("bindings", 2, "/etc/x", id));
    BOOST_TEST(!dir.open("config", 1, "/etc/x", id));
    BOOST_TEST(!dir.open("bindings", 1, "/etc/y", id));
}

BOOST_AUTO_TEST_CASE(recent_source_is_not_stored) {
    TempDir d;
    IndexDir dir(d.path);
    FileIdentity id = old_identity();
    id.ctime_sec = std::time(nullptr);
    BOOST_TEST(!dir.store("bindings", 1, "/etc/x", id, bytes("payload")));
    BOOST_TEST(index_files(d.path) == 0u);
}

BOOST_AUTO_TEST_CASE(relative_or_missing_index_dir_is_unusable) {
    TempDir d;
    const FileIdentity id = old_identity();
    BOOST_TEST(!IndexDir("relative/dir").store("bindings", 1, "/etc/x", id, bytes("p")));
    BOOST_TEST(!IndexDir("").store("bindings", 1, "/etc/x", id, bytes("p")));
    BOOST_TEST(!IndexDir(d / "absent").store("bindings", 1, "/etc/x", id, bytes("p")));
    write_file(d / "plain-file", "");
    BOOST_TEST(!IndexDir(d / "plain-file").store("bindings", 1, "/etc/x", id, bytes("p")));
}

BOOST_AUTO_TEST_CASE(group_or_world_writable_index_dir_is_unusable) {
    TempDir d;
    const FileIdentity id = old_identity();
    for (mode_t mode : {0770, 0707, 01777, 0720}) {
        BOOST_TEST_CONTEXT("index dir mode " << std::oct << mode) {
            BOOST_REQUIRE(::chmod(d.path.c_str(), 0700) == 0);
            IndexDir dir(d.path);
            BOOST_REQUIRE(dir.store("bindings", 1, "/etc/x", id, bytes("p")));
            BOOST_REQUIRE(::chmod(d.path.c_str(), mode) == 0);
            BOOST_TEST(!dir.open("bindings", 1, "/etc/x", id));
            BOOST_TEST(!dir.store("bindings", 1, "/etc/y", id, bytes("p")));
        }
    }
    BOOST_REQUIRE(::chmod(d.path.c_str(), 0700) == 0);
}

BOOST_AUTO_TEST_CASE(index_dir_owned_by_someone_else_is_unusable) {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("not root: cannot give a directory away; skipped");
        return;
    }
    TempDir d;
    BOOST_REQUIRE(::mkdir((d / "idx").c_str(), 0700) == 0);
    IndexDir dir(d / "idx");
    const FileIdentity id = old_identity();
    BOOST_REQUIRE(dir.store("bindings", 1, "/etc/x", id, bytes("p")));
    BOOST_REQUIRE(::chown((d / "idx").c_str(), 4242, 4242) == 0);
    BOOST_TEST(!dir.open("bindings", 1, "/etc/x", id));
}

BOOST_AUTO_TEST_CASE(index_dir_reached_through_a_symlink_or_an_open_parent_is_unusable) {
    TempDir d;
    const FileIdentity id = old_identity();
    BOOST_REQUIRE(::mkdir((d / "real").c_str(), 0700) == 0);
    BOOST_REQUIRE(::symlink((d / "real").c_str(), (d / "link").c_str()) == 0);
    BOOST_TEST(!IndexDir(d / "link").store("bindings", 1, "/etc/x", id, bytes("p")));
    BOOST_TEST(index_files(d / "real") == 0u);

    BOOST_REQUIRE(::mkdir((d / "open").c_str(), 0700) == 0);
    BOOST_REQUIRE(::mkdir((d / "open/idx").c_str(), 0700) == 0);
    IndexDir under_open(d / "open/idx");
    BOOST_REQUIRE(under_open.store("bindings", 1, "/etc/x", id, bytes("p")));
    BOOST_REQUIRE(::chmod((d / "open").c_str(), 0777) == 0);  // anyone could swap idx for their own
    BOOST_TEST(!under_open.open("bindings", 1, "/etc/x", id));
    BOOST_REQUIRE(::chmod((d / "open").c_str(), 0700) == 0);
}

BOOST_AUTO_TEST_CASE(overlong_kind_is_refused) {
    TempDir d;
    IndexDir dir(d.path);
    BOOST_TEST(!dir.store("a-kind-of-16-chs", 1, "/etc/x", old_identity(), bytes("p")));
    BOOST_TEST(!dir.open("a-kind-of-16-chs", 1, "/etc/x", old_identity()));
}

// ----------------------------------------------------------------- the bindings index

BOOST_AUTO_TEST_CASE(large_aged_file_is_indexed_and_the_index_reused) {
    TempDir idx;
    IndexDir dir(idx.path);
    auto built = open_ok(aged().big, &dir);
    BOOST_TEST(!built.from_index());
    BOOST_TEST(index_files(idx.path) == 1u);
    auto reused = open_ok(aged().big, &dir);
    BOOST_TEST(reused.from_index());
    BOOST_TEST(reused.size() == built.size());
    BOOST_TEST(reused.size() == 1104u);
    expect_all_lookups_correct(built);
    expect_all_lookups_correct(reused);
    const auto& a = badges().alice;
    BOOST_TEST(reused.lookup(a)->front().source == built.lookup(a)->front().source);
    BOOST_TEST(reused.lookup(a)->front().source == aged().big + ":2");
}

BOOST_AUTO_TEST_CASE(index_is_written_from_1024_bindings_up) {
    TempDir idx;
    IndexDir dir(idx.path);
    (void)open_ok(aged().just_1023, &dir);
    BOOST_TEST(index_files(idx.path) == 0u);
    (void)open_ok(aged().small, &dir);
    BOOST_TEST(index_files(idx.path) == 0u);
    (void)open_ok(aged().exactly_1024, &dir);
    BOOST_TEST(index_files(idx.path) == 1u);
    BOOST_TEST(open_ok(aged().exactly_1024, &dir).from_index());
}

BOOST_AUTO_TEST_CASE(recently_changed_file_is_not_indexed) {
    TempDir d, idx;
    IndexDir dir(idx.path);
    write_file(d / "fresh", badges().lines() + filler(1100));
    auto f = open_ok(d / "fresh", &dir);
    BOOST_TEST(index_files(idx.path) == 0u);
    BOOST_TEST(!open_ok(d / "fresh", &dir).from_index());
    expect_all_lookups_correct(f);
}

BOOST_AUTO_TEST_CASE(no_index_dir_means_no_index) {
    auto f = open_ok(aged().big, nullptr);
    BOOST_TEST(!f.from_index());
    expect_all_lookups_correct(f);
}

BOOST_AUTO_TEST_CASE(appending_a_line_invalidates_the_index) {
    TempDir idx;
    IndexDir dir(idx.path);
    (void)open_ok(aged().spare, &dir);
    BOOST_REQUIRE(open_ok(aged().spare, &dir).from_index());
    append_file(aged().spare, "erin spki-sha256 " + badges().alice.spki_sha256() + "\n");
    auto f = open_ok(aged().spare, &dir);
    BOOST_TEST(!f.from_index());
    BOOST_TEST(f.size() == 1105u);
    BOOST_TEST(users(f, badges().alice) == (Users{"alice", "erin"}));
    // Changed just now: not indexed again until it has settled.
    BOOST_TEST(!open_ok(aged().spare, &dir).from_index());
}

BOOST_AUTO_TEST_CASE(group_writable_index_is_ignored) {
    IndexedBig ib;
    BOOST_REQUIRE(::chmod(ib.file().c_str(), 0664) == 0);
    auto f = open_ok(aged().big, &ib.dir);
    BOOST_TEST(!f.from_index());
    expect_all_lookups_correct(f);
}

BOOST_AUTO_TEST_CASE(world_writable_index_is_ignored) {
    IndexedBig ib;
    BOOST_REQUIRE(::chmod(ib.file().c_str(), 0646) == 0);
    auto f = open_ok(aged().big, &ib.dir);
    BOOST_TEST(!f.from_index());
    expect_all_lookups_correct(f);
}

BOOST_AUTO_TEST_CASE(index_owned_by_someone_else_is_ignored) {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("not root: cannot give a file away; skipped");
        return;
    }
    IndexedBig ib;
    BOOST_REQUIRE(::chown(ib.file().c_str(), 4242, 4242) == 0);
    auto f = open_ok(aged().big, &ib.dir);
    BOOST_TEST(!f.from_index());
    expect_all_lookups_correct(f);
}

BOOST_AUTO_TEST_CASE(truncated_index_is_ignored) {
    IndexedBig ib;
    const std::string path = ib.file();
    const auto size = fs::file_size(path);
    for (auto cut : {size - 1, size - 8, size / 2, std::uintmax_t{104}, std::uintmax_t{10}, std::uintmax_t{0}}) {
        BOOST_TEST_CONTEXT("index cut to " << cut << " of " << size << " bytes") {
            IndexedBig fresh;
            BOOST_REQUIRE(::truncate(fresh.file().c_str(), static_cast<off_t>(cut)) == 0);
            auto f = open_ok(aged().big, &fresh.dir);
            BOOST_TEST(!f.from_index());
            expect_all_lookups_correct(f);
        }
    }
}

BOOST_AUTO_TEST_CASE(index_with_wrong_magic_or_trailer_is_ignored) {
    for (bool at_end : {false, true}) {
        BOOST_TEST_CONTEXT((at_end ? "trailer" : "magic") << " damaged") {
            IndexedBig ib;
            const std::string path = ib.file();
            std::string data = slurp(path);
            data[at_end ? data.size() - 1 : 0] ^= 0x20;
            write_file(path, data, 0644);
            auto f = open_ok(aged().big, &ib.dir);
            BOOST_TEST(!f.from_index());
            expect_all_lookups_correct(f);
        }
    }
}

BOOST_AUTO_TEST_CASE(index_replaced_by_a_symlink_is_ignored) {
    IndexedBig ib;
    TempDir elsewhere;
    const std::string path = ib.file();
    fs::copy_file(path, elsewhere / "copy.idx");
    BOOST_REQUIRE(::unlink(path.c_str()) == 0);
    BOOST_REQUIRE(::symlink((elsewhere / "copy.idx").c_str(), path.c_str()) == 0);
    auto f = open_ok(aged().big, &ib.dir);
    BOOST_TEST(!f.from_index());
    expect_all_lookups_correct(f);
}

// The index must only ever point at lines (bindings.hpp): a table whose
// offsets point into the middle of lines ("alice ..." read from its third
// byte is a binding for "ice") must not make up a binding.
BOOST_AUTO_TEST_CASE(index_pointing_into_the_middle_of_lines_cannot_invent_bindings) {
    IndexedBig ib;
    const std::string path = ib.file();
    std::string data = slurp(path);
    const std::size_t records = open_ok(aged().big, &ib.dir).size();
    const std::size_t header = data.size() - 8 - records * 32;
    for (std::size_t i = 0; i < records; ++i) {
        std::uint64_t off;
        std::memcpy(&off, data.data() + header + i * 32 + 24, sizeof off);
        off += 2;
        std::memcpy(data.data() + header + i * 32 + 24, &off, sizeof off);
    }
    write_file(path, data, 0644);
    auto f = open_ok(aged().big, &ib.dir);
    BOOST_REQUIRE(f.from_index());  // the header is intact: the index is used
    for (const Certificate* c : {&badges().alice, &badges().bob, &badges().dave}) {
        auto hits = f.lookup(*c);
        if (!hits.ok()) continue;  // refusing is fine
        for (const auto& h : *hits) {
            BOOST_TEST_INFO("hit " << h.source);
            BOOST_TEST((h.binding.user == "alice" || h.binding.user == "bob" || h.binding.user == "dave"),
                       "invented binding for \"" << h.binding.user << "\"");
        }
    }
}

// Offsets swapped between records point at real lines, but other ones: the
// re-check against the certificate must drop them.
BOOST_AUTO_TEST_CASE(index_pointing_at_other_lines_yields_no_wrong_hits) {
    IndexedBig ib;
    const std::string path = ib.file();
    std::string data = slurp(path);
    const std::size_t records = open_ok(aged().big, &ib.dir).size();
    const std::size_t header = data.size() - 8 - records * 32;
    // Rotate every record's (line, offset) by one.
    std::vector<std::string> tails;
    for (std::size_t i = 0; i < records; ++i) tails.push_back(data.substr(header + i * 32 + 16, 16));
    for (std::size_t i = 0; i < records; ++i)
        data.replace(header + i * 32 + 16, 16, tails[(i + 1) % records]);
    write_file(path, data, 0644);
    auto f = open_ok(aged().big, &ib.dir);
    BOOST_REQUIRE(f.from_index());
    const Badges& b = badges();
    for (const Certificate* c : {&b.alice, &b.bob, &b.carol, &b.dave, &b.stranger}) {
        auto hits = f.lookup(*c);
        if (!hits.ok()) continue;
        for (const auto& h : *hits) BOOST_TEST(binding_matches(h.binding, *c), "wrong hit " << h.source);
    }
}

BOOST_AUTO_TEST_SUITE_END()
