// Error catalogue, Result and SecretBuffer.
#define BOOST_TEST_MODULE core
#include <boost/test/unit_test.hpp>

#include <set>
#include <string>

#include "src/error.hpp"
#include "src/pin.hpp"
#include "src/result.hpp"
#include "src/secret.hpp"

using namespace cardgate;

namespace {
Result<int> parse_positive(int v) {
    if (v <= 0) return Error(Code::config_value, "must be positive");
    return v;
}
Result<int> doubled(int v) {
    int x = CG_TRY(parse_positive(v));
    return 2 * x;
}
Status check(int v) {
    CG_TRY_VOID(parse_positive(v));
    return {};
}
}  // namespace

BOOST_AUTO_TEST_CASE(try_propagates_the_first_error_with_its_code) {
    auto r = doubled(-1);
    BOOST_TEST(!r.ok());
    BOOST_TEST(static_cast<int>(r.code()) == static_cast<int>(Code::config_value));
    BOOST_TEST(r.error().detail() == "must be positive");
    BOOST_TEST(doubled(4).value() == 8);
    BOOST_TEST(!check(0).ok());
    BOOST_TEST(check(1).ok());
}

BOOST_AUTO_TEST_CASE(every_code_has_a_unique_name_and_a_message) {
    std::set<std::string> names;
    for (int i = 0; i <= static_cast<int>(Code::io); ++i) {
        auto c = static_cast<Code>(i);
        BOOST_TEST(!describe(c).empty());
        BOOST_TEST(names.insert(std::string(name(c))).second);
    }
}

BOOST_AUTO_TEST_CASE(exit_codes_follow_the_spec) {
    BOOST_TEST(exit_code(Code::ok) == 0);
    BOOST_TEST(exit_code(Code::cert_revoked) == 1);
    BOOST_TEST(exit_code(Code::proof_bad_signature) == 1);
    BOOST_TEST(exit_code(Code::config_unknown_key) == 2);
    BOOST_TEST(exit_code(Code::usage) == 2);
    BOOST_TEST(exit_code(Code::p11_timeout) == 3);
    BOOST_TEST(exit_code(Code::p11_pin_incorrect) == 3);
    BOOST_TEST(exit_code(Code::internal) == 4);
}

BOOST_AUTO_TEST_CASE(admin_only_is_a_refusal_exit_1) {
    BOOST_TEST(exit_code(Code::admin_only) == 1);
    BOOST_TEST(name(Code::admin_only) == "admin_only");
}

// try_first_pass (pam_cardgate(8)): only a plausible PIN may cost a PIN try.
BOOST_AUTO_TEST_CASE(stacked_password_is_a_plausible_pin_only_when_digits_by_default) {
    BOOST_TEST(plausible_pin(SecretBuffer::from("123456"), std::nullopt));
    BOOST_TEST(plausible_pin(SecretBuffer::from("0"), std::nullopt));
    BOOST_TEST(!plausible_pin(SecretBuffer::from("correct horse battery"), std::nullopt));
    BOOST_TEST(!plausible_pin(SecretBuffer::from("12345a"), std::nullopt));
    BOOST_TEST(!plausible_pin(SecretBuffer::from("123 456"), std::nullopt));
    BOOST_TEST(!plausible_pin(SecretBuffer::from("\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4"), std::nullopt));  // Arabic-Indic digits
    BOOST_TEST(!plausible_pin(SecretBuffer(), std::nullopt));
}

BOOST_AUTO_TEST_CASE(pin_pattern_must_match_the_whole_stacked_password) {
    const std::optional<std::string> eight = "[0-9]{8}";
    BOOST_TEST(plausible_pin(SecretBuffer::from("12345678"), eight));
    BOOST_TEST(!plausible_pin(SecretBuffer::from("123456"), eight));
    BOOST_TEST(!plausible_pin(SecretBuffer::from("123456789"), eight));  // contains a match, is not one
    const std::optional<std::string> alnum = "[0-9A-Za-z]{4,16}";
    BOOST_TEST(plausible_pin(SecretBuffer::from("Ab12cd"), alnum));
    BOOST_TEST(!plausible_pin(SecretBuffer::from("correct horse"), alnum));
}

BOOST_AUTO_TEST_CASE(error_message_names_code_and_detail) {
    Error e(Code::config_file, "/etc/x.pem: no such file");
    BOOST_TEST(e.message() == "a file named by the configuration is unusable: /etc/x.pem: no such file");
}

BOOST_AUTO_TEST_CASE(secret_buffer_is_bounded_and_wiped_on_clear) {
    SecretBuffer b(4);
    for (unsigned char c : std::string("1234")) BOOST_TEST(b.push_back(c));
    BOOST_TEST(!b.push_back('5'));
    BOOST_TEST(b.size() == 4u);
    unsigned char* p = b.data();
    b.truncate(2);
    BOOST_TEST(p[2] == 0);
    BOOST_TEST(p[3] == 0);
    b.clear();
    BOOST_TEST(b.empty());
    BOOST_TEST(p[0] == 0);
}

BOOST_AUTO_TEST_CASE(secret_buffer_move_leaves_source_empty) {
    auto a = SecretBuffer::from("123456");
    SecretBuffer b(std::move(a));
    BOOST_TEST(a.empty());
    BOOST_TEST(a.data() == nullptr);
    BOOST_TEST(b.size() == 6u);
    BOOST_TEST(b.equals(SecretBuffer::from("123456")));
    BOOST_TEST(!b.equals(SecretBuffer::from("123457")));
    BOOST_TEST(!b.equals(SecretBuffer::from("12345")));
}
