// Distinguished names written by people (RFC 4514 strings in the config and
// the bindings file) and their comparison with the names in certificates.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <openssl/x509.h>

#include "ossl.hpp"
#include "result.hpp"

namespace cardgate {

// The attribute type of a name: a dotted OID, or a name compared without
// regard to case. The RFC 4519 (LDAP) names come first, so "uid" is userId
// (0.9.2342.19200300.100.1.1) as in every directory, not OpenSSL's "uid"
// (uniqueIdentifier, 0.9.2342.19200300.100.1.44); then OpenSSL's short and long names. nullptr when
// unknown.
ossl::Asn1ObjectPtr attribute_type(std::string_view name);

// Parses an RFC 4514 string, most specific RDN first ("CN=Example Issuing
// CA,O=Example Corp"): RDNs separated by ',', multi-valued RDNs by '+', types
// as keywords OpenSSL knows (CN, O, OU, UID, DC, ...) or dotted OIDs, values
// with RFC 4514 escapes (\, \+ \" \\ ... and \XX hex bytes). Values must be
// UTF-8 without NUL bytes; hex-encoded values ("#04...") are not accepted.
// Code::config_value with a detail that names the offset of the problem.
Result<ossl::X509NamePtr> parse_dn(std::string_view text);

// The comparison OpenSSL makes when it builds chains (X509_NAME_cmp over the
// canonical encoding: same types in the same order, values compared after
// case folding of ASCII letters and collapsing of white space), so a rule
// names an issuer exactly when the verifier would.
bool same_dn(const X509_NAME* a, const X509_NAME* b);

// 32-bit hash of the canonical encoding (X509_NAME_hash_ex): equal for names
// same_dn() calls equal. For indexes only; confirm a hit with same_dn().
std::uint32_t dn_hash(const X509_NAME* name);

}  // namespace cardgate
