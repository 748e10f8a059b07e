// RFC 7512 pkcs11: URIs: strict parsing, canonical output, matching.
#define BOOST_TEST_MODULE uri
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>

#include "pkcs11/uri.hpp"

namespace cardgate {
// Boost.Test prints codes by name.
inline std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
}  // namespace cardgate

using namespace cardgate;
using namespace cardgate::p11;

namespace {

Code code_of(std::string_view text) { return Uri::parse(text).code(); }

void refused(std::string_view text, std::string_view detail_part) {
    auto r = Uri::parse(text);
    BOOST_TEST_CONTEXT("URI " << text) {
        BOOST_TEST_REQUIRE(!r.ok());
        BOOST_TEST(static_cast<int>(r.code()) == static_cast<int>(Code::uri_syntax));
        BOOST_TEST(r.error().detail().find(detail_part) != std::string::npos, "detail: " << r.error().detail());
    }
}

}  // namespace

// --- hostile input ---

BOOST_AUTO_TEST_CASE(missing_scheme_is_refused) {
    refused("token=alice", "pkcs11:");
    refused("pkcs11", "pkcs11:");
    refused("pkcs12:token=alice", "pkcs11:");
    refused("", "pkcs11:");
    refused(" pkcs11:token=a", "pkcs11:");
}

BOOST_AUTO_TEST_CASE(bad_percent_escapes_are_refused_with_attribute_and_offset) {
    refused("pkcs11:token=%zz", "attribute 'token' at offset 13: bad percent escape");
    refused("pkcs11:token=%4", "attribute 'token' at offset 13: truncated percent escape");
    refused("pkcs11:token=abc%", "truncated percent escape");
    refused("pkcs11:object=%g0", "bad percent escape");
    refused("pkcs11:id=%0", "truncated");
}

BOOST_AUTO_TEST_CASE(nul_is_refused_in_text_attributes) {
    refused("pkcs11:token=al%00ice", "attribute 'token' at offset 15: NUL");
    refused("pkcs11:object=%00", "NUL");
    refused("pkcs11:?pin-value=12%0034", "NUL");
}

BOOST_AUTO_TEST_CASE(unknown_attributes_are_refused) {
    refused("pkcs11:token=a;color=red", "attribute 'color' at offset 15: unknown path attribute");
    refused("pkcs11:x-vendor=1", "unknown path attribute");
    refused("pkcs11:token=a?colour=blue", "unknown query attribute");
    refused("pkcs11:pin-value=1234", "unknown path attribute");  // a query attribute in the path
    refused("pkcs11:?token=a", "unknown query attribute");      // a path attribute in the query
    refused("pkcs11:Token=a", "invalid attribute name");
}

BOOST_AUTO_TEST_CASE(duplicate_attributes_are_refused) {
    refused("pkcs11:token=a;token=a", "attribute 'token' at offset 15: attribute given twice");
    refused("pkcs11:id=%01;id=%02", "given twice");
    refused("pkcs11:type=cert;type=private", "given twice");
    refused("pkcs11:?pin-value=1&pin-value=2", "given twice");
    refused("pkcs11:?module-path=/a&module-path=/b", "given twice");
}

BOOST_AUTO_TEST_CASE(structural_garbage_is_refused) {
    refused("pkcs11:token", "without '='");
    refused("pkcs11:token=a;", "empty attribute");
    refused("pkcs11:;token=a", "empty attribute");
    refused("pkcs11:token=a;;object=b", "empty attribute");
    refused("pkcs11:=a", "without a name");
    refused("pkcs11:token=a?", "empty query");
    refused("pkcs11:?pin-value=1&&module-name=x", "empty attribute");
}

BOOST_AUTO_TEST_CASE(characters_outside_the_rfc_sets_are_refused) {
    refused("pkcs11:token=a b", "character not allowed");
    refused("pkcs11:token=a/b", "character not allowed");  // '/' only in the query
    refused("pkcs11:token=a\"b", "character not allowed");
    refused("pkcs11:token=a#b", "character not allowed");
    refused(std::string("pkcs11:token=a\x01") + "b", "character not allowed");
    refused("pkcs11:token=\xc3\xa9", "character not allowed");  // raw UTF-8 must be percent-encoded
    refused("pkcs11:?module-path=/a b", "character not allowed");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_text_is_refused) {
    refused("pkcs11:token=%ff", "UTF-8");
    refused("pkcs11:token=%c3", "UTF-8");
    refused("pkcs11:token=%c0%af", "UTF-8");        // overlong '/'
    refused("pkcs11:object=%ed%a0%80", "UTF-8");    // surrogate
}

BOOST_AUTO_TEST_CASE(bad_typed_values_are_refused) {
    refused("pkcs11:type=key", "expected cert, private");
    refused("pkcs11:type=", "expected cert, private");
    refused("pkcs11:type=CERT", "expected cert, private");
    refused("pkcs11:slot-id=abc", "decimal slot");
    refused("pkcs11:slot-id=", "decimal slot");
    refused("pkcs11:slot-id=-1", "decimal slot");
    refused("pkcs11:slot-id=99999999999999999999", "decimal slot");
    refused("pkcs11:library-version=x", "version");
    refused("pkcs11:library-version=1.", "version");
    refused("pkcs11:library-version=1.2.3", "version");
}

BOOST_AUTO_TEST_CASE(overlong_uri_is_refused) {
    std::string big = "pkcs11:object=" + std::string(kMaxUriLength, 'a');
    refused(big, "longer than 4096");
}

BOOST_AUTO_TEST_CASE(pin_value_and_pin_source_together_are_refused) {
    refused("pkcs11:token=a?pin-value=1234&pin-source=file:/etc/pin", "ambiguous");
}

// --- what is accepted ---

BOOST_AUTO_TEST_CASE(pin_value_is_kept_secret_and_never_written_back) {
    auto r = Uri::parse("pkcs11:token=alice?pin-value=12%3456&module-name=softhsm2");
    BOOST_TEST_REQUIRE(r.ok());
    BOOST_TEST_REQUIRE(r->has_pin_value());
    BOOST_TEST(r->pin_value->size() == 5u);
    BOOST_TEST(std::string(reinterpret_cast<const char*>(r->pin_value->data()), 5) == "12456");
    auto s = r->to_string();
    BOOST_TEST(s == "pkcs11:token=alice?module-name=softhsm2");
    BOOST_TEST(s.find("pin") == std::string::npos);
    BOOST_TEST(s.find("12") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(id_is_raw_bytes_including_nul) {
    auto r = Uri::parse("pkcs11:id=%00%01%ff%7Fa");
    BOOST_TEST_REQUIRE(r.ok());
    std::vector<std::uint8_t> want{0x00, 0x01, 0xff, 0x7f, 'a'};
    BOOST_TEST(*r->id == want, boost::test_tools::per_element());
    BOOST_TEST(r->to_string() == "pkcs11:id=%00%01%FF%7F%61");
}

BOOST_AUTO_TEST_CASE(empty_path_matches_everything) {
    auto r = Uri::parse("pkcs11:");
    BOOST_TEST_REQUIRE(r.ok());
    BOOST_TEST(r->to_string() == "pkcs11:");
    TokenInfo t;
    t.label = "anything";
    BOOST_TEST(r->matches(t));
    BOOST_TEST(code_of("PKCS11:token=a") == Code::ok);  // RFC 3986 §3.1: the scheme is case-insensitive
}

BOOST_AUTO_TEST_CASE(canonical_form_round_trips) {
    const char* in =
        "pkcs11:type=private;object=my%20key;serial=ABC123;token=Alice%27s%20badge;manufacturer=piv_II;"
        "model=PKCS%2315;id=%01%02;slot-id=7;library-version=2.6"
        "?module-path=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so&pin-source=file:/run/pin";
    auto a = Uri::parse(in);
    BOOST_TEST_REQUIRE(a.ok(), (a.ok() ? "" : a.error().message()));
    auto text = a->to_string();
    BOOST_TEST(text ==
               "pkcs11:token=Alice's%20badge;manufacturer=piv_II;model=PKCS%2315;serial=ABC123;"
               "library-version=2.6;slot-id=7;id=%01%02;object=my%20key;type=private"
               "?pin-source=file:/run/pin&module-path=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so");
    auto b = Uri::parse(text);
    BOOST_TEST_REQUIRE(b.ok());
    BOOST_TEST(b->to_string() == text);
    BOOST_TEST(*b->token == "Alice's badge");
    BOOST_TEST(*b->slot_id == 7u);
    BOOST_TEST(static_cast<int>(*b->type) == static_cast<int>(ObjectClass::private_key));
}

BOOST_AUTO_TEST_CASE(utf8_and_reserved_characters_are_percent_encoded_on_output) {
    auto r = Uri::parse("pkcs11:object=caf%C3%A9%3B%3F%2F;token=a%26b");
    BOOST_TEST_REQUIRE(r.ok());
    BOOST_TEST(*r->object == "caf\xc3\xa9;?/");
    BOOST_TEST(r->to_string() == "pkcs11:token=a%26b;object=caf%C3%A9%3B%3F%2F");
    BOOST_TEST(*Uri::parse(r->to_string())->object == *r->object);
}

BOOST_AUTO_TEST_CASE(matching_requires_every_given_attribute) {
    auto r = Uri::parse("pkcs11:token=alice;serial=01;id=%01;type=cert");
    BOOST_TEST_REQUIRE(r.ok());
    TokenInfo t;
    t.label = "alice";
    t.serial = "01";
    BOOST_TEST(r->matches(t));
    t.serial = "02";
    BOOST_TEST(!r->matches(t));
    ObjectInfo o;
    o.cls = ObjectClass::certificate;
    o.id = {0x01};
    BOOST_TEST(r->matches(o));
    o.cls = ObjectClass::private_key;
    BOOST_TEST(!r->matches(o));
    o.cls = ObjectClass::certificate;
    o.id = {0x01, 0x00};
    BOOST_TEST(!r->matches(o));
    ModuleInfo m;
    m.library_major = 2;
    m.library_minor = 6;
    BOOST_TEST(Uri::parse("pkcs11:library-version=2.6")->matches(m));
    BOOST_TEST(!Uri::parse("pkcs11:library-version=2")->matches(m));
}

BOOST_AUTO_TEST_CASE(object_uri_names_token_serial_id_label_and_type) {
    TokenInfo t;
    t.label = "alice-ec256";
    t.serial = "fdb6ea17077070af";
    ObjectInfo o;
    o.cls = ObjectClass::certificate;
    o.id = {0x01};
    o.label = "alice";
    BOOST_TEST(object_uri(t, o) == "pkcs11:token=alice-ec256;serial=fdb6ea17077070af;id=%01;object=alice;type=cert");
}
