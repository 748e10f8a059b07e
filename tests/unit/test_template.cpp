// User templates (template.hpp): which templates are well-formed, what each
// field reads from a certificate, and that a missing, ambiguous or unclean
// field never yields a name (not an empty one, not a partial one).
#define BOOST_TEST_MODULE template
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "src/template.hpp"
#include "tests/unit/certgen.hpp"

namespace cardgate {
std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
}  // namespace cardgate

using namespace cardgate;
using namespace std::string_literals;
using certgen::Builder;

namespace {

// The usual badge: O, OU, CN, UID, with a SAN email and UPN.
Builder alice() {
    return Builder()
        .subject("O", "Example Corp")
        .subject("OU", "Engineering")
        .subject("CN", "Alice Example")
        .subject("UID", "alice")
        .email("alice@example.com")
        .upn("alice@EXAMPLE.COM");
}

std::string expand(std::string_view tmpl, const Certificate& c, bool lower = false) {
    auto e = expand_template(tmpl, c, lower);
    BOOST_REQUIRE_MESSAGE(e.value, "expand_template(" << tmpl << "): " << e.why);
    BOOST_TEST(e.why.empty());
    return *e.value;
}

// The template does not expand, and says why.
void refused(std::string_view tmpl, const Certificate& c, std::string_view why_contains) {
    BOOST_TEST_INFO("template " << tmpl);
    auto e = expand_template(tmpl, c);
    BOOST_TEST(!e.value.has_value());
    BOOST_TEST(e.why.find(why_contains) != std::string::npos, "why = \"" << e.why << "\"");
}

}  // namespace

// ----------------------------------------------------------------- template_problem

BOOST_AUTO_TEST_CASE(every_documented_field_is_well_formed) {
    for (const char* t : {"{subject.uid}", "{subject.cn}", "{subject.UID}", "{subject.ou}", "{subject.o}",
                          "{subject.0.9.2342.19200300.100.1.1}", "{subject.2.5.4.3}", "{san.email}",
                          "{san.email.local}", "{san.upn}", "{san.upn.local}", "{serial}", "x-{serial}-y",
                          "{subject.cn}.{subject.uid}", "plain-name"}) {
        BOOST_TEST_INFO(t);
        BOOST_TEST(template_problem(t) == "");
    }
}

BOOST_AUTO_TEST_CASE(unknown_fields_are_problems) {
    for (const char* t : {"{subject.bogus}", "{subject.}", "{san.dns}", "{san.email.domain}", "{SERIAL}",
                          "{Serial}", "{issuer.cn}", "{}", "{subject}", "{san.upn.local.x}", "{ serial}"}) {
        BOOST_TEST_INFO(t);
        BOOST_TEST(template_problem(t).find("unknown field") != std::string::npos, template_problem(t));
    }
}

BOOST_AUTO_TEST_CASE(malformed_templates_are_problems) {
    const std::pair<std::string, std::string> cases[] = {
        {"", "empty"},
        {"{subject.uid", "unbalanced '{'"},
        {"subject.uid}", "unbalanced '}'"},
        {"{subject.{uid}}", "nested '{'"},
        {"a}b{serial}", "unbalanced '}' at offset 1"},
        {"{serial}\0x"s, "NUL"},
        {std::string(257, 'a'), "longer than 256"},
    };
    for (const auto& [t, why] : cases) {
        BOOST_TEST_INFO("template \"" << t << "\"");
        BOOST_TEST(template_problem(t).find(why) != std::string::npos, template_problem(t));
    }
}

BOOST_AUTO_TEST_CASE(fields_are_listed_in_order) {
    BOOST_TEST(template_fields("x{subject.cn}-{serial}{san.upn.local}") ==
               (std::vector<std::string>{"subject.cn", "serial", "san.upn.local"}));
    BOOST_TEST(template_fields("no fields").empty());
}

// ----------------------------------------------------------------- subject fields

BOOST_AUTO_TEST_CASE(subject_uid_reads_userid) {
    BOOST_TEST(expand("{subject.uid}", alice().build()) == "alice");
}

BOOST_AUTO_TEST_CASE(subject_cn_reads_common_name) {
    BOOST_TEST(expand("{subject.cn}", alice().build()) == "Alice Example");
}

BOOST_AUTO_TEST_CASE(attribute_names_are_case_insensitive) {
    const auto c = alice().build();
    for (const char* t : {"{subject.UID}", "{subject.Uid}", "{subject.userid}", "{subject.userId}"}) {
        BOOST_TEST_INFO(t);
        BOOST_TEST(expand(t, c) == "alice");
    }
    BOOST_TEST(expand("{subject.CN}", c) == "Alice Example");
    BOOST_TEST(expand("{subject.commonName}", c) == "Alice Example");
}

BOOST_AUTO_TEST_CASE(uid_does_not_read_x500_unique_identifier) {
    // Only an x500UniqueIdentifier: {subject.uid} must not find it.
    const auto only_x500 = Builder().subject("CN", "Mallory").subject("x500UniqueIdentifier", "root").build();
    refused("{subject.uid}", only_x500, "missing");
    // Both: uid is the userId, not the other one.
    const auto both = Builder()
                          .subject("CN", "Mallory")
                          .subject("x500UniqueIdentifier", "root")
                          .subject("UID", "mallory")
                          .build();
    BOOST_TEST(expand("{subject.uid}", both) == "mallory");
    BOOST_TEST(expand("{subject.x500UniqueIdentifier}", both) == "root");
}

BOOST_AUTO_TEST_CASE(uid_does_not_read_openssls_uid_unique_identifier) {
    // OpenSSL's short name "uid" is uniqueIdentifier (0.9.2342.19200300.100.1.44).
    const auto c = Builder().subject("CN", "Mallory").subject("uid", "root").build();
    BOOST_REQUIRE(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(X509_get_subject_name(c.x509()), 1))) ==
                  NID_uniqueIdentifier);
    refused("{subject.uid}", c, "missing");
    refused("{subject.UID}", c, "missing");
    const auto both = Builder().subject("uid", "root").subject("UID", "mallory").build();
    BOOST_TEST(expand("{subject.uid}", both) == "mallory");
}

BOOST_AUTO_TEST_CASE(dotted_oid_fields_read_that_attribute) {
    const auto c = alice().subject("1.3.6.1.4.1.99999.7", "badge-42").build();
    BOOST_TEST(expand("{subject.0.9.2342.19200300.100.1.1}", c) == "alice");
    BOOST_TEST(expand("{subject.2.5.4.3}", c) == "Alice Example");
    BOOST_TEST(expand("{subject.1.3.6.1.4.1.99999.7}", c) == "badge-42");
}

BOOST_AUTO_TEST_CASE(literal_text_around_fields_is_kept) {
    const auto c = alice().build();
    BOOST_TEST(expand("x-{subject.uid}-{serial}.y", c) == "x-alice-1A2B3C.y");
    BOOST_TEST(expand("{subject.uid}{subject.uid}", c) == "alicealice");
    BOOST_TEST(expand("no-fields", c) == "no-fields");
}

BOOST_AUTO_TEST_CASE(missing_subject_field_does_not_expand) {
    const auto c = Builder().subject("CN", "Alice Example").build();
    refused("{subject.uid}", c, "subject uid is missing");
    refused("prefix-{subject.ou}", c, "missing");
}

BOOST_AUTO_TEST_CASE(field_in_two_rdns_is_ambiguous) {
    const auto c = Builder().subject("CN", "Alice").subject("UID", "alice").subject("UID", "root").build();
    refused("{subject.uid}", c, "occurs 2 times");
    auto f = read_field(c, "subject.uid");
    BOOST_TEST(!f.value.has_value());
}

BOOST_AUTO_TEST_CASE(field_twice_in_one_multi_valued_rdn_is_ambiguous) {
    const auto c = Builder().subject("O", "Example Corp").subject("UID", "alice").subject_plus("UID", "root").build();
    BOOST_REQUIRE(X509_NAME_entry_count(X509_get_subject_name(c.x509())) == 3);
    refused("{subject.uid}", c, "occurs 2 times");
}

BOOST_AUTO_TEST_CASE(field_in_a_multi_valued_rdn_is_read_when_unique) {
    const auto c = Builder().subject("O", "Example Corp").subject("CN", "Alice").subject_plus("UID", "alice").build();
    BOOST_TEST(expand("{subject.uid}", c) == "alice");
    BOOST_TEST(expand("{subject.cn}", c) == "Alice");
}

BOOST_AUTO_TEST_CASE(nul_byte_in_utf8_value_is_refused) {
    const auto c = Builder().subject("CN", "x").subject("UID", "alice\0.evil"s, V_ASN1_UTF8STRING).build();
    refused("{subject.uid}", c, "NUL");
}

BOOST_AUTO_TEST_CASE(nul_character_in_bmp_value_is_refused) {
    const auto c = Builder().subject("UID", certgen::bmp(u"ali\0ce"s), V_ASN1_BMPSTRING).build();
    refused("{subject.uid}", c, "NUL");
}

// OpenSSL will not even encode such names, so the bytes are patched into the
// DER: either the parser refuses the certificate, or the field is refused.
BOOST_AUTO_TEST_CASE(invalid_utf8_value_is_refused) {
    const std::pair<std::string, std::string> cases[] = {
        {"ab@@cd", "ab\xFF\xFE" "cd"},       // not UTF-8 at all
        {"ab@@@d", "ab\xC0\xAF" "@d"},       // overlong '/'
        {"ab@@@d", "ab\xED\xA0\x80" "d"},   // surrogate U+D800
        {"abc@@@", "abc\xE9" "@@"},          // Latin-1 e-acute
        {"abc@@@", "abc@\xE2\x82"},         // truncated sequence
    };
    for (const auto& [placeholder, bad] : cases) {
        BOOST_TEST_CONTEXT("UTF8String value \"" << bad << "\"") {
            auto r = Builder().subject("CN", "x").subject("UID", placeholder).try_build_patched(placeholder, bad);
            if (!r.ok()) {
                BOOST_TEST(r.code() == Code::cert_parse);
                continue;
            }
            auto e = expand_template("{subject.uid}", *r);
            BOOST_TEST(!e.value.has_value(), "expanded to \"" << e.value.value_or("") << "\"");
        }
    }
}

BOOST_AUTO_TEST_CASE(bmp_string_is_converted_to_utf8) {
    const auto c = Builder().subject("CN", certgen::bmp(u"Zo\u00EB"), V_ASN1_BMPSTRING)
                       .subject("UID", certgen::bmp(u"zoe"), V_ASN1_BMPSTRING)
                       .build();
    BOOST_TEST(expand("{subject.cn}", c) == "Zo\xC3\xAB");
    BOOST_TEST(expand("{subject.uid}", c) == "zoe");
}

BOOST_AUTO_TEST_CASE(bmp_string_with_lone_surrogate_is_refused) {
    const std::string placeholder = certgen::bmp(u"a@b");
    auto r = Builder().subject("UID", placeholder, V_ASN1_BMPSTRING).try_build_patched(placeholder, certgen::bmp(u"a\xD800" "b"));
    if (!r.ok()) {
        BOOST_TEST(r.code() == Code::cert_parse);
        return;
    }
    auto e = expand_template("{subject.uid}", *r);
    BOOST_TEST(!e.value.has_value(), "expanded to \"" << e.value.value_or("") << "\"");
}

BOOST_AUTO_TEST_CASE(universal_string_is_converted_to_utf8) {
    const auto c = Builder().subject("UID", "\0\0\0b\0\0\0o\0\0\0b"s, V_ASN1_UNIVERSALSTRING).build();
    BOOST_TEST(expand("{subject.uid}", c) == "bob");
}

BOOST_AUTO_TEST_CASE(non_text_value_is_refused) {
    const auto c = Builder().subject("UID", "alice", V_ASN1_BIT_STRING).build();
    refused("{subject.uid}", c, "not a text value");
}

BOOST_AUTO_TEST_CASE(empty_value_is_refused) {
    const auto c = Builder().subject("CN", "x").subject("UID", "", V_ASN1_UTF8STRING).build();
    refused("{subject.uid}", c, "empty");
    refused("prefix{subject.uid}", c, "empty");
}

BOOST_AUTO_TEST_CASE(one_bad_field_spoils_the_whole_template) {
    const auto c = alice().build();
    refused("{subject.uid}-{subject.title}", c, "missing");
    refused("{subject.title}{subject.uid}", c, "missing");
}

// ----------------------------------------------------------------- SAN and serial

BOOST_AUTO_TEST_CASE(san_email_and_its_local_part) {
    const auto c = alice().build();
    BOOST_TEST(expand("{san.email}", c) == "alice@example.com");
    BOOST_TEST(expand("{san.email.local}", c) == "alice");
}

BOOST_AUTO_TEST_CASE(san_upn_and_its_local_part) {
    const auto c = alice().build();
    BOOST_TEST(expand("{san.upn}", c) == "alice@EXAMPLE.COM");
    BOOST_TEST(expand("{san.upn.local}", c) == "alice");
}

BOOST_AUTO_TEST_CASE(missing_san_does_not_expand) {
    const auto c = Builder().subject("CN", "no san").build();
    refused("{san.email}", c, "missing");
    refused("{san.email.local}", c, "missing");
    refused("{san.upn}", c, "missing");
    refused("{san.upn.local}", c, "missing");
}

BOOST_AUTO_TEST_CASE(two_san_emails_are_ambiguous) {
    const auto c = Builder().subject("CN", "x").email("alice@example.com").email("root@example.com").build();
    refused("{san.email}", c, "occurs 2 times");
    refused("{san.email.local}", c, "occurs 2 times");
}

BOOST_AUTO_TEST_CASE(two_san_upns_are_ambiguous) {
    const auto c = Builder().subject("CN", "x").upn("alice@EXAMPLE.COM").upn("admin@EXAMPLE.COM").build();
    refused("{san.upn}", c, "occurs 2 times");
    refused("{san.upn.local}", c, "occurs 2 times");
}

BOOST_AUTO_TEST_CASE(local_part_needs_exactly_one_at_sign_after_something) {
    for (const char* bad : {"alice", "@example.com", "alice@evil@example.com"}) {
        BOOST_TEST_INFO(bad);
        const auto c = Builder().subject("CN", "x").email(bad).upn(bad).build();
        refused("{san.email.local}", c, "local@domain");
        refused("{san.upn.local}", c, "local@domain");
    }
}

BOOST_AUTO_TEST_CASE(nul_byte_in_san_email_refuses_the_certificate) {
    auto r = Builder().subject("CN", "x").email("alice@example.com\0.evil.org"s).try_build();
    BOOST_TEST(r.code() == Code::cert_parse);
}

// template.hpp: values "are refused when they hold a NUL byte or are not
// well-formed" -- SAN values as much as subject values.
BOOST_AUTO_TEST_CASE(san_value_that_is_not_utf8_does_not_expand) {
    auto upn = Builder().subject("CN", "x").upn("caf\xE9@EXAMPLE.COM").try_build();
    BOOST_TEST_INFO("UPN caf\\xE9@EXAMPLE.COM");
    BOOST_TEST((!upn.ok() || !expand_template("{san.upn.local}", *upn).value.has_value()));
    auto email = Builder().subject("CN", "x").email("\xFF\xFE@example.com").try_build();
    BOOST_TEST_INFO("email \\xFF\\xFE@example.com");
    BOOST_TEST((!email.ok() || !expand_template("{san.email}", *email).value.has_value()));
}

BOOST_AUTO_TEST_CASE(serial_is_upper_case_hex) {
    BOOST_TEST(expand("{serial}", Builder().serial("00ab12cd").build()) == "AB12CD");
    const auto c = Builder().serial("deadbeef").build();
    BOOST_TEST(expand("{serial}", c) == c.serial_hex());
}

// ----------------------------------------------------------------- lowercase

BOOST_AUTO_TEST_CASE(lowercase_folds_ascii_letters_of_the_result) {
    const auto c = Builder().subject("UID", "ALICE").upn("Alice.Example@EXAMPLE.COM").build();
    BOOST_TEST(expand("{subject.uid}", c, true) == "alice");
    BOOST_TEST(expand("{san.upn.local}", c, true) == "alice.example");
    BOOST_TEST(expand("X-{subject.uid}", c, true) == "x-alice");
    BOOST_TEST(expand("{subject.uid}", c, false) == "ALICE");
}

BOOST_AUTO_TEST_CASE(lowercase_leaves_non_ascii_bytes_alone) {
    const auto c = Builder().subject("UID", "ZO\xC3\x8B").build();  // ZOË
    BOOST_TEST(expand("{subject.uid}", c, true) == "zo\xC3\x8B");
}

// ----------------------------------------------------------------- subject_values

BOOST_AUTO_TEST_CASE(subject_values_lists_every_value_in_order) {
    const auto c = Builder()
                       .subject("O", "Example Corp")
                       .subject("OU", "Engineering")
                       .subject("OU", "Door Lab")
                       .subject_plus("OU", "Night Shift")
                       .subject("CN", "Alice")
                       .build();
    BOOST_TEST(subject_values(c, "OU") == (std::vector<std::string>{"Engineering", "Door Lab", "Night Shift"}));
    BOOST_TEST(subject_values(c, "ou") == subject_values(c, "organizationalUnitName"));
    BOOST_TEST(subject_values(c, "uid").empty());
    BOOST_TEST(subject_values(c, "bogus").empty());
}

BOOST_AUTO_TEST_CASE(subject_values_skips_unclean_values) {
    const auto c = Builder()
                       .subject("OU", "Engineering")
                       .subject("OU", "evil\0admins"s, V_ASN1_UTF8STRING)
                       .subject("OU", "", V_ASN1_UTF8STRING)
                       .subject("CN", "Alice")
                       .build();
    BOOST_TEST(subject_values(c, "OU") == (std::vector<std::string>{"Engineering"}));
}
