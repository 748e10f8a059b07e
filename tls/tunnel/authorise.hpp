// Authorisation of a mapped identity for one [[tls.service]]: the person may
// use the service when the account is in allow_users, or one of its groups
// is in allow_groups, or one of its privileges ("group:NAME", "ou:NAME",
// "policy:OID", mapping.hpp) is in allow_privileges. Exact, case-sensitive
// comparisons. A service whose three lists are all empty allows nobody.
#pragma once

#include <string>

#include "src/config.hpp"
#include "src/mapping.hpp"

namespace cardgate::tunnel {

struct Authorisation {
    bool allowed = false;
    std::string detail;  // which entry allowed it, or why nothing did
};

Authorisation authorise(const TlsService& service, const Identity& identity);

}  // namespace cardgate::tunnel
