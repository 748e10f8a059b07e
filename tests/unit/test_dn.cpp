// Distinguished names written by people (RFC 4514, dn.hpp): attribute types,
// parsing with escapes and multi-valued RDNs, refusal of everything else, and
// comparison with the names in certificates as the chain verifier compares.
#define BOOST_TEST_MODULE dn
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <openssl/objects.h>

#include "src/dn.hpp"
#include "tests/unit/certgen.hpp"

namespace cardgate {
std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
}  // namespace cardgate

using namespace cardgate;
using namespace std::string_literals;

namespace {

int nid_of(std::string_view attr) {
    auto o = attribute_type(attr);
    return o ? OBJ_obj2nid(o.get()) : NID_undef;
}

ossl::X509NamePtr dn(std::string_view text) {
    auto r = parse_dn(text);
    BOOST_REQUIRE_MESSAGE(r.ok(), "parse_dn(" << text << "): " << (r.ok() ? "" : r.error().detail()));
    return std::move(r).value();
}

// The value and RDN set number of entry i (X509_NAME order: least specific first).
std::string entry_value(const X509_NAME* n, int i) {
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));  // borrowed
    return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s))};
}
int entry_nid(const X509_NAME* n, int i) { return OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(n, i))); }
int entry_set(const X509_NAME* n, int i) { return X509_NAME_ENTRY_set(X509_NAME_get_entry(n, i)); }

void expect_refused(std::string_view text, std::string_view why_contains) {
    BOOST_TEST_INFO("parse_dn(\"" << text << "\")");
    auto r = parse_dn(text);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.code() == Code::config_value);
    BOOST_TEST(r.error().detail().find(why_contains) != std::string::npos, r.error().detail());
}

bool same(std::string_view a, std::string_view b) { return same_dn(dn(a).get(), dn(b).get()); }

}  // namespace

// ----------------------------------------------------------------- attribute types

BOOST_AUTO_TEST_CASE(uid_is_ldap_userid_not_x500_unique_identifier) {
    BOOST_TEST(nid_of("uid") == NID_userId);
    BOOST_TEST(nid_of("UID") == NID_userId);
    BOOST_TEST(nid_of("userid") == NID_userId);
    BOOST_TEST(nid_of("uid") != NID_x500UniqueIdentifier);
    BOOST_TEST(nid_of("uid") != NID_uniqueIdentifier);  // OpenSSL's own short name "uid"
    BOOST_TEST(nid_of("0.9.2342.19200300.100.1.1") == NID_userId);
}

BOOST_AUTO_TEST_CASE(ldap_names_are_case_insensitive) {
    for (const char* n : {"cn", "CN", "Cn", "commonName", "COMMONNAME"}) {
        BOOST_TEST_INFO(n);
        BOOST_TEST(nid_of(n) == NID_commonName);
    }
    BOOST_TEST(nid_of("ou") == NID_organizationalUnitName);
    BOOST_TEST(nid_of("O") == NID_organizationName);
    BOOST_TEST(nid_of("dc") == NID_domainComponent);
    BOOST_TEST(nid_of("emailAddress") == NID_pkcs9_emailAddress);
}

BOOST_AUTO_TEST_CASE(openssl_names_are_found_when_ldap_has_none) {
    BOOST_TEST(nid_of("x500UniqueIdentifier") == NID_x500UniqueIdentifier);
    BOOST_TEST(nid_of("X500UNIQUEIDENTIFIER") == NID_x500UniqueIdentifier);
    BOOST_TEST(nid_of("initials") == NID_initials);
}

BOOST_AUTO_TEST_CASE(dotted_oids_are_types_even_when_unregistered) {
    BOOST_TEST(nid_of("2.5.4.3") == NID_commonName);
    auto o = attribute_type("1.3.6.1.4.1.99999.1");
    BOOST_REQUIRE(o);
    char buf[64];
    OBJ_obj2txt(buf, sizeof buf, o.get(), 1);
    BOOST_TEST(std::string(buf) == "1.3.6.1.4.1.99999.1");
}

BOOST_AUTO_TEST_CASE(unknown_or_malformed_types_are_null) {
    for (std::string bad : {""s, "bogus"s, "c n"s, "cn="s, "2.5.4.x"s, "-cn"s, "cn;"s,
                            std::string(65, 'a'), "cn\0"s, "\xC3\xA9"s}) {
        BOOST_TEST_INFO("attribute_type(\"" << bad << "\")");
        BOOST_TEST(!attribute_type(bad));
    }
}

// An empty arc or a trailing dot is a typo, not an OID: OpenSSL's parser reads
// "2..5" as 2.0.5 and "2.5.4.3." as 2.5.4.3 (commonName), so the strict check
// has to be made here.
BOOST_AUTO_TEST_CASE(malformed_dotted_oids_are_not_types) {
    for (const char* bad : {"2..5", "2.5.4.3.", "2.5..4.3", "2.5.4.3..", "0..9"}) {
        BOOST_TEST_INFO("attribute_type(\"" << bad << "\")");
        BOOST_TEST(!attribute_type(bad));
    }
    auto r = parse_dn("2.5.4.3.=Example Issuing CA,O=Example Corp");
    BOOST_TEST(r.code() == Code::config_value);
}

// ----------------------------------------------------------------- parse_dn: accepted

BOOST_AUTO_TEST_CASE(most_specific_rdn_comes_first_in_the_text) {
    auto n = dn("CN=Example Issuing CA,O=Example Corp");
    BOOST_REQUIRE(X509_NAME_entry_count(n.get()) == 2);
    BOOST_TEST(entry_nid(n.get(), 0) == NID_organizationName);
    BOOST_TEST(entry_value(n.get(), 0) == "Example Corp");
    BOOST_TEST(entry_nid(n.get(), 1) == NID_commonName);
    BOOST_TEST(entry_value(n.get(), 1) == "Example Issuing CA");
}

BOOST_AUTO_TEST_CASE(escaped_specials_are_part_of_the_value) {
    const std::pair<const char*, const char*> cases[] = {
        {"CN=Doe\\, John", "Doe, John"},   {"CN=Doe\\2C John", "Doe, John"}, {"CN=a\\+b", "a+b"},
        {"CN=back\\\\slash", "back\\slash"}, {"CN=\\\"quoted\\\"", "\"quoted\""}, {"CN=\\#1", "#1"},
        {"CN=semi\\;colon", "semi;colon"}, {"CN=\\<tag\\>", "<tag>"},        {"CN=eq\\=", "eq="},
        {"CN=\\ lead", " lead"},           {"CN=Zo\\C3\\AB", "Zo\xC3\xAB"},
    };
    for (const auto& [text, value] : cases) {
        BOOST_TEST_INFO(text);
        auto n = dn(text);
        BOOST_REQUIRE(X509_NAME_entry_count(n.get()) == 1);
        BOOST_TEST(entry_value(n.get(), 0) == value);
    }
}

BOOST_AUTO_TEST_CASE(hex_escape_and_raw_utf8_give_the_same_name) {
    BOOST_TEST(same("CN=Zo\\C3\\AB,O=Example", "CN=Zo\xC3\xAB,O=Example"));
}

BOOST_AUTO_TEST_CASE(plus_makes_a_multi_valued_rdn) {
    auto n = dn("CN=Alice+UID=alice,O=Example Corp");
    BOOST_REQUIRE(X509_NAME_entry_count(n.get()) == 3);
    BOOST_TEST(entry_nid(n.get(), 0) == NID_organizationName);
    BOOST_TEST(entry_set(n.get(), 1) == entry_set(n.get(), 2));
    BOOST_TEST(entry_set(n.get(), 0) != entry_set(n.get(), 1));
    BOOST_TEST(!same("CN=Alice+UID=alice,O=Example Corp", "CN=Alice,UID=alice,O=Example Corp"));
}

BOOST_AUTO_TEST_CASE(dotted_oid_types_are_accepted) {
    BOOST_TEST(same("2.5.4.3=Example Issuing CA,2.5.4.10=Example Corp", "CN=Example Issuing CA,O=Example Corp"));
}

BOOST_AUTO_TEST_CASE(parsed_name_equals_the_certificate_name_it_spells) {
    const auto c = certgen::Builder().subject("CN", "x").build();
    auto parsed = dn(certgen::example_issuer);
    BOOST_TEST(same_dn(parsed.get(), X509_get_issuer_name(c.x509())));
    BOOST_TEST(dn_hash(parsed.get()) == dn_hash(X509_get_issuer_name(c.x509())));
}

BOOST_AUTO_TEST_CASE(printable_string_in_certificate_equals_utf8_in_config) {
    const auto c = certgen::Builder()
                       .issuer("O", "Example Corp", MBSTRING_ASC)
                       .issuer("CN", "Example Issuing CA", V_ASN1_PRINTABLESTRING)
                       .subject("CN", "x")
                       .build();
    const X509_NAME* issuer = X509_get_issuer_name(c.x509());
    BOOST_REQUIRE(ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(issuer, 1))) == V_ASN1_PRINTABLESTRING);
    BOOST_TEST(same_dn(dn(certgen::example_issuer).get(), issuer));
}

// ----------------------------------------------------------------- parse_dn: refused

BOOST_AUTO_TEST_CASE(empty_dn_is_refused) { expect_refused("", "empty"); }

BOOST_AUTO_TEST_CASE(missing_type_or_equals_is_refused_with_offset) {
    expect_refused("CN", "offset 0");
    expect_refused("=Example", "offset 0");
    expect_refused("CN=a,=b", "offset 5");
    expect_refused("CN=a,O", "offset 5");
}

BOOST_AUTO_TEST_CASE(space_after_separator_is_refused) {
    expect_refused("CN=Example Issuing CA, O=Example Corp", "offset 22");
}

BOOST_AUTO_TEST_CASE(empty_value_is_refused) {
    expect_refused("CN=", "empty value");
    expect_refused("CN=,O=Example", "empty value");
    expect_refused("CN=a+OU=,O=x", "empty value");
}

BOOST_AUTO_TEST_CASE(trailing_separator_is_refused) {
    expect_refused("CN=a,", "ends with a separator");
    expect_refused("CN=a+", "ends with a separator");
    expect_refused("CN=a,O=b,", "ends with a separator");
}

BOOST_AUTO_TEST_CASE(unknown_attribute_is_refused) {
    expect_refused("Bogus=x,O=Example Corp", "unknown attribute type \"Bogus\"");
    expect_refused("CN=x,Nonsense=y", "unknown attribute type \"Nonsense\"");
}

BOOST_AUTO_TEST_CASE(hex_encoded_value_is_refused) {
    expect_refused("CN=#0C03616263", "hex-encoded");
    expect_refused("O=Example,CN=#0403616263", "hex-encoded");
}

BOOST_AUTO_TEST_CASE(raw_nul_byte_is_refused) {
    expect_refused("CN=ali\0ce,O=Example Corp"s, "\\0");
}

BOOST_AUTO_TEST_CASE(escaped_nul_byte_is_refused) { expect_refused("CN=ali\\00ce,O=Example Corp", "NUL"); }

BOOST_AUTO_TEST_CASE(non_utf8_value_is_refused) {
    expect_refused("CN=\xFF\xFE", "not UTF-8");
    expect_refused("CN=caf\xE9", "not UTF-8");           // Latin-1 é
    expect_refused("CN=\\C0\\AF", "not UTF-8");          // overlong '/'
    expect_refused("CN=\\ED\\A0\\80", "not UTF-8");      // surrogate U+D800
}

BOOST_AUTO_TEST_CASE(bad_escapes_are_refused) {
    expect_refused("CN=a\\", "dangling");
    expect_refused("CN=a\\q", "bad escape");
    expect_refused("CN=a\\2", "bad escape");
    expect_refused("CN=a\\2G", "bad escape");
}

BOOST_AUTO_TEST_CASE(unescaped_specials_are_refused) {
    for (const char* bad : {"CN=a\"b", "CN=a;b", "CN=a<b", "CN=a>b", "CN=x;O=y"}) {
        BOOST_TEST_INFO(bad);
        expect_refused(bad, "unescaped");
    }
}

BOOST_AUTO_TEST_CASE(value_openssl_refuses_for_the_type_is_refused) {
    expect_refused("C=USA", "not allowed for that attribute");
}

// ----------------------------------------------------------------- same_dn

BOOST_AUTO_TEST_CASE(ascii_case_and_white_space_do_not_matter) {
    BOOST_TEST(same("CN=Example Issuing CA,O=Example Corp", "cn=example issuing ca,o=EXAMPLE CORP"));
    BOOST_TEST(same("CN=Example Issuing CA,O=Example Corp", "CN=Example   Issuing CA,O=Example Corp"));
    BOOST_TEST(same("CN=Example Issuing CA,O=Example Corp", "CN=Example Issuing CA,O=Example Corp\\20"));
}

BOOST_AUTO_TEST_CASE(rdn_order_matters) {
    BOOST_TEST(!same("CN=Example Issuing CA,O=Example Corp", "O=Example Corp,CN=Example Issuing CA"));
}

BOOST_AUTO_TEST_CASE(look_alike_issuer_differs) {
    // Capital I against small L, with a trailing space thrown in.
    BOOST_TEST(!same("CN=Example Issuing CA,O=Example Corp\\20", "CN=Example lssuing CA,O=Example Corp"));
    // Cyrillic a (U+0430) in "Example".
    BOOST_TEST(!same("CN=Example Issuing CA,O=Example Corp", "CN=Ex\xD0\xB0mple Issuing CA,O=Example Corp"));
}

BOOST_AUTO_TEST_CASE(extra_missing_or_retyped_rdn_differs) {
    const char* base = "CN=Example Issuing CA,O=Example Corp";
    BOOST_TEST(!same(base, "CN=Example Issuing CA,OU=PKI,O=Example Corp"));
    BOOST_TEST(!same(base, "CN=Example Issuing CA"));
    BOOST_TEST(!same(base, "OU=Example Issuing CA,O=Example Corp"));
    BOOST_TEST(!same(base, "CN=Example Issuing CA,O=Example Corp,C=US"));
}

BOOST_AUTO_TEST_CASE(non_ascii_letters_are_not_case_folded) {
    BOOST_TEST(!same("CN=ZO\xC3\x8B", "CN=zo\xC3\xAB"));  // ZOË / zoë
    BOOST_TEST(same("CN=ZO\xC3\xAB", "CN=zo\xC3\xAB"));   // ZOë / zoë: only the ASCII letters fold
}

BOOST_AUTO_TEST_CASE(equal_names_hash_equal) {
    BOOST_TEST(dn_hash(dn("CN=Example Issuing CA,O=Example Corp").get()) ==
               dn_hash(dn("cn=example  issuing ca,o=example corp").get()));
    BOOST_TEST(dn_hash(dn("CN=Example Issuing CA,O=Example Corp").get()) !=
               dn_hash(dn("CN=Example lssuing CA,O=Example Corp").get()));
}
