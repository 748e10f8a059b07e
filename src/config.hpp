// The configuration file (SPEC "Config file"): strict TOML, fail closed.
//
// Every key is known: an unknown key (at any level), a value of the wrong
// type or a value that is not allowed is an Error whose detail starts with
// "<path>:<line>:<col>: <key>: " and says what was wrong and what is allowed.
// No defaults are invented for a value that was written but is wrong.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.h"
#include "files.hpp"  // read_protected_file, check_trusted_file: the config is one of those files
#include "purpose.hpp"
#include "result.hpp"

// Where revocation data is kept by default (Makefile.am sets it from
// localstatedir; a build that does not, such as the fuzz targets, gets this).
#ifndef CARDGATE_REVOCATION_DIR
#define CARDGATE_REVOCATION_DIR CARDGATE_INDEX_DIR "/revocation"
#endif

namespace cardgate {

inline constexpr const char* default_config_path = "/etc/cardgate/cardgate.conf";

class RuleTable;  // rule_table.hpp

struct TokenConfig {
    std::string module = CARDGATE_DEFAULT_MODULE;  // absolute path of the PKCS#11 module
    std::optional<std::string> uri;                // starts with "pkcs11:"; parsed by pkcs11/
    std::chrono::milliseconds timeout{10000};      // > 0, <= 30d
    std::chrono::milliseconds wait_for_card{0};    // >= 0, <= 30d
};

enum class RevocationSource { crl, ocsp };

struct TrustConfig {
    std::vector<std::string> anchors;        // absolute paths; at least one
    std::vector<std::string> intermediates;  // absolute paths
    std::vector<std::string> crls;           // absolute paths
    std::vector<RevocationSource> revocation;  // in order of use; empty = "none"
    bool on_unknown_allow = false;
    bool fetch_crls = false;                 // download CRLs from the certificates' CRL distribution points
    std::optional<std::string> ocsp_responder;  // http(s) URL used for every certificate instead of its AIA
    bool ocsp_nonce = true;
    std::chrono::milliseconds ocsp_max_age{7LL * 24 * 3600 * 1000};  // > 0: an OCSP answer older than this is not used
    std::chrono::milliseconds max_staleness{0};  // >= 0: grace past nextUpdate when nothing fresher can be had
    std::chrono::milliseconds fetch_timeout{5000};  // > 0, <= 5m: connect and total, per download or OCSP request
    std::uint64_t crl_max_size = 128ull << 20;   // bytes, >= 1024: larger CRL files and downloads are refused
    std::string cache_dir = CARDGATE_REVOCATION_DIR;  // absolute; downloaded CRLs, OCSP responses, CRL indexes
    // Where each list was written ("anchors" -> "<path>:<line>:<col>"), so that
    // TrustStore::create can name the config line of a file it cannot use.
    // Empty for a TrustConfig built in code.
    std::map<std::string, std::string, std::less<>> origin;

    bool checks_crl() const;
    bool checks_ocsp() const;
};

struct PurposeConfig {
    std::vector<std::string> eku;  // dotted OIDs; the leaf needs at least one; empty = none required
};

struct MappingRule {
    std::string issuer;                  // RFC 4514 DN, as written; parses (dn.hpp)
    std::optional<std::string> subject;  // ECMAScript regex, compiles
    std::string user;                    // template; fields checked (template.hpp)
    std::vector<std::string> eku;        // dotted OIDs; the certificate needs one of them; empty = no condition
    std::vector<std::string> policies;   // dotted OIDs; the certificate needs one of them; empty = no condition
    std::vector<std::string> san;        // "email", "upn": each must be present in the certificate
    bool lowercase = false;              // fold ASCII letters of the account name to lower case
    bool strong = false;                 // declared by the administrator: keys only on CA-assigned fields
    int line = 0;                        // line of the [[mapping.rule]] header
    // Derived when parsed (and kept in the config cache) so that rules can be
    // indexed without parsing every DN or compiling every regex:
    std::uint32_t issuer_hash = 0;       // dn_hash() of the parsed issuer
    std::string literal;                 // required_literal() of subject
};

enum class MappingSource { bindings, rules };

struct MappingConfig {
    std::optional<std::string> bindings;  // absolute path
    bool allow_root = false;
    bool require_strong = false;          // refuse weak mappings for login
    unsigned min_uid = 1000;              // accounts below this uid are system accounts (refused unless allow_root)
    std::vector<MappingSource> sources{MappingSource::bindings, MappingSource::rules};  // consulted in this order
    std::string index_dir = CARDGATE_INDEX_DIR;  // derived index files (bindings.hpp); absolute
    std::vector<MappingRule> rules;       // in file order
    // Set instead of `rules` when the config came from its derived index
    // (config_cache.hpp): the same rules, read in place.
    std::shared_ptr<const RuleTable> rule_table;
    std::size_t rule_count() const;
};

struct LoginConfig {
    std::vector<std::string> services;            // PAM services allowed; empty = all
    std::chrono::milliseconds warn_expiry{14LL * 24 * 3600 * 1000};  // account check warns this long before expiry
    // try_first_pass: a stacked password is tried as the PIN only when it
    // matches this ECMAScript regex in full; unset = digits only (pin.hpp).
    std::optional<std::string> pin_pattern;
};

// [tls] and its [[tls.service]] / [[tls.client]] tables: cardgate-tunnel(8).
enum class TlsIdentity { none, proxy_v2, header };

// "HOST:PORT" as written, HOST an IPv4 literal or a bracketed IPv6 literal
// (no name resolution: what the tunnel binds to or connects to is never
// decided by DNS).
struct TlsEndpoint {
    std::string host;  // without brackets
    std::uint16_t port = 0;
    std::string text;  // as written
};

struct TlsService {
    std::string name;                        // [A-Za-z0-9._-]{1,64}, unique
    TlsEndpoint listen;                      // unique among services
    TlsEndpoint backend;
    TlsIdentity identity = TlsIdentity::proxy_v2;
    std::string header = "X-Cardgate-User";  // identity = "header": the header the tunnel owns
    std::vector<std::string> allow_users, allow_groups, allow_privileges;  // any match allows; all empty = deny
    int line = 0;                            // of the [[tls.service]] header
};

struct TlsClient {
    std::string name;
    // Where the plain side is offered, to the owner only: a loopback address
    // (127.0.0.0/8 or ::1; default 127.0.0.1, the port is required), or
    // `listen_unix` when written "unix:/ABSOLUTE/PATH" (then `listen` holds
    // only the text as written). Anything else is a config error: the badge
    // must not be offered to the network.
    TlsEndpoint listen;
    std::optional<std::string> listen_unix;  // absolute path of the socket, < 108 bytes
    // Who may use the tunnel besides the uid it runs as (peer_uid.hpp).
    std::vector<std::uint32_t> allow_uids;
    // The server certificate's revocation is checked as trust.revocation and
    // trust.on_unknown say; false skips that for this client alone.
    bool check_revocation = true;
    TlsEndpoint connect;
    std::string server_name;                 // DNS name or IP literal the server certificate must carry
    std::optional<std::string> certificate;  // pkcs11: URI or absolute path; default: the one token.uri selects
    std::optional<std::string> key;          // pkcs11: URI (pin-source allowed, pin-value not)
    int line = 0;
};

struct TlsConfig {
    std::optional<std::string> certificate;  // server mode: chain PEM, absolute path
    std::optional<std::string> key;          // server mode: key file, absolute path
    unsigned max_handshakes = 1024;          // handshakes (and their checks) in flight: tls/tunnel/admission.hpp
    unsigned max_handshakes_per_source = 32;    // of them from one IPv4 address or IPv6 /64
    unsigned handshake_rate_per_source = 100;   // new connections a second from one source (token bucket)...
    unsigned handshake_burst_per_source = 200;  // ...holding this many
    unsigned max_connections = 10000;        // established connections; more are refused
    std::chrono::milliseconds handshake_timeout{10000};
    std::chrono::milliseconds client_hello_timeout{3000};  // accept -> complete ClientHello (server mode)
    std::chrono::milliseconds idle_timeout{300000};
    std::chrono::milliseconds session_lifetime{300000};  // resumption; 0 = no resumption
    std::vector<TlsService> services;
    std::vector<TlsClient> clients;
};

struct Config {
    std::string path;
    LoginConfig login;
    TokenConfig token;
    TrustConfig trust;
    std::map<Purpose, PurposeConfig> purposes;  // always holds all three after parse()
    MappingConfig mapping;
    TlsConfig tls;

    // Reads the file (see read_protected_file) and parses it. A config with
    // many rules is parsed once and kept as a derived index in `index_dir`
    // (index_file.hpp; config_cache.hpp); nullopt = never use one.
    static Result<Config> load(const std::string& path,
                               const std::optional<std::string>& index_dir = std::string(CARDGATE_INDEX_DIR));
    // Parses TOML text; path_for_messages starts every error detail.
    static Result<Config> parse(std::string_view text, const std::string& path_for_messages);

    // The purpose's settings; the built-in default when the map lacks it.
    const PurposeConfig& purpose(Purpose p) const;
};

namespace detail {
// Config::parse that also returns the first and last line of each
// [[mapping.rule]] table, for config_cache.cpp.
struct LineSpan {
    unsigned first = 0, last = 0;
    bool header = false;  // written as a [[mapping.rule]] header (not an inline table)
};
Result<Config> parse_config(std::string_view text, const std::string& path, std::vector<LineSpan>* rule_spans);
}  // namespace detail

// Built-in EKU requirements when a [purpose.X] section is absent:
// login = clientAuth, msSmartcardLogin; tls = clientAuth; door = pivCardAuth.
const PurposeConfig& default_purpose_config(Purpose p);

// Resolves an EKU as written in the config: a known name (clientAuth,
// serverAuth, emailProtection, codeSigning, msSmartcardLogin, pivCardAuth) or a
// dotted OID in canonical form. anyExtendedKeyUsage (by name or OID) is refused:
// it would let any certificate through. Error: config_value, detail without location.
Result<std::string> resolve_eku(std::string_view name_or_oid);
// The config name of a dotted EKU OID ("1.3.6.1.5.5.7.3.2" -> "clientAuth"), or the OID itself.
std::string eku_display_name(std::string_view oid);

}  // namespace cardgate
