// User templates (SPEC "Templates"): "{subject.uid}", "{san.upn.local}",
// "x-{serial}", ... and the certificate fields they read.
//
// A field is read only when it is unambiguous: a subject attribute must occur
// exactly once in the subject (multi-valued RDNs included), a SAN kind exactly
// once; values are converted to UTF-8 and refused when they hold a NUL byte or
// are not well-formed. A missing or ambiguous field makes the template (and so
// the rule) not match; it never yields an empty or partial name.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "x509.hpp"

namespace cardgate {

// Why the template cannot be used, or "" when it is well-formed and every
// field is known ({subject.ATTR} with an attribute OpenSSL knows by name,
// case-insensitively, or a dotted OID; {san.email}, {san.email.local},
// {san.upn}, {san.upn.local}, {serial}).
std::string template_problem(std::string_view tmpl);

// The field names of a well-formed template, in order ("subject.uid", ...).
std::vector<std::string> template_fields(std::string_view tmpl);

// One field of the certificate, or why it cannot be read ("missing",
// "occurs 2 times", "contains a NUL byte", ...).
struct FieldValue {
    std::optional<std::string> value;
    std::string why;  // set when !value
};
FieldValue read_field(const Certificate& cert, std::string_view field);

// The template with every field replaced; lowercase folds ASCII letters of
// the result. nullopt with `why` set when a field cannot be read.
struct Expansion {
    std::optional<std::string> value;
    std::string why;
};
Expansion expand_template(std::string_view tmpl, const Certificate& cert, bool lowercase = false);

// Every value of a subject attribute (for privileges such as "ou:..."), in
// certificate order, skipping values that are not clean UTF-8 text.
std::vector<std::string> subject_values(const Certificate& cert, std::string_view attribute);

}  // namespace cardgate
