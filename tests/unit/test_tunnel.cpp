// cardgate-tunnel's pure parts: [tls] config (strict, file:line:col), the
// PROXY v2 header byte for byte, the identity header against hostile
// requests, the authorisation decision, the audit line, and the
// pending-handshake budget with its refusal summaries (time injected).
#define BOOST_TEST_MODULE tunnel
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "src/config.hpp"
#include "tls/tunnel/admission.hpp"
#include "tls/tunnel/audit.hpp"
#include "tls/tunnel/authorise.hpp"
#include "tls/tunnel/http_identity.hpp"
#include "tls/tunnel/proxy_v2.hpp"
#include "tls/tunnel/refusal_log.hpp"

namespace cardgate {
std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
}  // namespace cardgate
namespace cardgate::tunnel {
std::ostream& operator<<(std::ostream& os, RequestHead::Status s) { return os << static_cast<int>(s); }
}  // namespace cardgate::tunnel

using namespace cardgate;
using namespace cardgate::tunnel;
using namespace std::chrono_literals;
using S = RequestHead::Status;

namespace {

const std::string path = "/etc/cardgate/cardgate.conf";
// Lines 1-3; [tls] starts on line 4.
const std::string base = "[trust]\nanchors = [\"/etc/cardgate/ca/root.pem\"]\nrevocation = \"none\"\n";
const std::string server = "[tls]\ncertificate = \"/etc/cardgate/tls/server.pem\"\nkey = \"/etc/cardgate/tls/server.key\"\n";
const std::string service =
    "[[tls.service]]\nname = \"wiki\"\nlisten = \"127.0.0.1:8443\"\nbackend = \"127.0.0.1:8080\"\n";

Result<Config> parse(const std::string& text) { return Config::parse(text, path); }

void expect_error(const std::string& text, Code code, const std::string& at, const std::string& says) {
    auto r = parse(text);
    BOOST_TEST_INFO("config:\n" << text);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.code() == code);
    BOOST_TEST(r.error().detail().rfind(path + ":" + at + ": ", 0) == 0, r.error().detail());
    BOOST_TEST(r.error().detail().find(says) != std::string::npos, r.error().detail());
}

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

IpPort v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port) {
    IpPort p;
    p.addr[0] = a;
    p.addr[1] = b;
    p.addr[2] = c;
    p.addr[3] = d;
    p.port = port;
    return p;
}

RequestHead rewrite(std::string_view req) { return rewrite_request_head(req, "X-Cardgate-User", "alice"); }

std::size_t count(const std::string& s, std::string_view what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

}  // namespace

// ------------------------------------------------------------------ config

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(full_server_and_client_config_parses) {
    auto r = parse(base + server +
                   "max_handshakes = 8\nmax_connections = 100\nhandshake_timeout = \"3s\"\nidle_timeout = \"1m\"\n"
                   "session_lifetime = \"0s\"\n" + service +
                   "identity = \"header\"\nheader = \"X-Remote-User\"\nallow_users = [\"alice\"]\n"
                   "allow_groups = [\"eng\"]\nallow_privileges = [\"ou:Engineering\"]\n"
                   "[[tls.client]]\nname = \"wiki\"\nlisten = \"9443\"\nconnect = \"[::1]:8443\"\nserver_name = \"localhost\"\n"
                   "key = \"pkcs11:token=alice;object=alice;type=private?pin-source=file:/run/pin\"\n");
    BOOST_TEST_INFO((r.ok() ? std::string() : r.error().message()));
    BOOST_REQUIRE(r.ok());
    const TlsConfig& t = r->tls;
    BOOST_TEST(t.max_handshakes == 8u);
    BOOST_TEST(t.max_connections == 100u);
    BOOST_TEST((t.handshake_timeout == 3s));
    BOOST_TEST((t.session_lifetime == 0s));
    BOOST_REQUIRE(t.services.size() == 1u);
    BOOST_TEST(t.services[0].listen.host == "127.0.0.1");
    BOOST_TEST(t.services[0].listen.port == 8443);
    BOOST_TEST((t.services[0].identity == TlsIdentity::header));
    BOOST_TEST(t.services[0].header == "X-Remote-User");
    BOOST_TEST(t.services[0].line == 12);  // after 5 [tls] keys
    BOOST_REQUIRE(t.clients.size() == 1u);
    BOOST_TEST(t.clients[0].listen.host == "127.0.0.1");  // a bare port listens on loopback
    BOOST_TEST(t.clients[0].listen.port == 9443);
    BOOST_TEST(t.clients[0].connect.host == "::1");
}

BOOST_AUTO_TEST_CASE(defaults_when_tls_is_absent_or_minimal) {
    auto r = parse(base);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->tls.services.empty());
    BOOST_TEST(r->tls.max_handshakes == 1024u);
    BOOST_TEST(r->tls.max_handshakes_per_source == 32u);
    BOOST_TEST(r->tls.handshake_rate_per_source == 100u);
    BOOST_TEST(r->tls.handshake_burst_per_source == 200u);
    BOOST_TEST((r->tls.client_hello_timeout == 3s));
    BOOST_TEST((r->tls.idle_timeout == 5min));
    auto s = parse(base + server + service);
    BOOST_REQUIRE(s.ok());
    BOOST_TEST((s->tls.services[0].identity == TlsIdentity::proxy_v2));
    BOOST_TEST(s->tls.services[0].allow_users.empty());  // allows nobody (authorise.hpp)
}

BOOST_AUTO_TEST_CASE(unknown_key_in_tls_names_line) {
    expect_error(base + server + "colour = \"blue\"\n", Code::config_unknown_key, "7:1", "tls.colour: unknown key");
}

BOOST_AUTO_TEST_CASE(unknown_key_in_service_names_line_and_index) {
    expect_error(base + server + service + "alow_users = [\"alice\"]\n", Code::config_unknown_key, "11:1",
                 "tls.service[0].alow_users: unknown key");
}

BOOST_AUTO_TEST_CASE(host_name_listen_is_refused) {
    expect_error(base + server + "[[tls.service]]\nname = \"w\"\nlisten = \"localhost:8443\"\nbackend = \"127.0.0.1:1\"\n",
                 Code::config_value, "9:10", "no host names");
}

BOOST_AUTO_TEST_CASE(bad_ports_are_refused) {
    for (const char* l : {"127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:", "127.0.0.1:80a", "127.0.0.1:-1",
                          "[::1]443", "[::1:443", "1.2.3:80", "127.0.0.1:123456"})
        expect_error(base + server + "[[tls.service]]\nname = \"w\"\nlisten = \"" + l + "\"\nbackend = \"127.0.0.1:1\"\n",
                     Code::config_value, "9:10", "is not an address");
}

BOOST_AUTO_TEST_CASE(service_needs_listen_and_backend) {
    expect_error(base + server + "[[tls.service]]\nname = \"w\"\nbackend = \"127.0.0.1:1\"\n", Code::config_missing,
                 "7:1", "tls.service[0].listen: required");
    expect_error(base + server + "[[tls.service]]\nname = \"w\"\nlisten = \"127.0.0.1:1\"\n", Code::config_missing,
                 "7:1", "tls.service[0].backend: required");
}

BOOST_AUTO_TEST_CASE(services_need_certificate_and_key) {
    expect_error(base + "[tls]\ncertificate = \"/etc/s.pem\"\n" + service, Code::config_missing, "4:1",
                 "tls.key: required");
    expect_error(base + "[tls]\nkey = \"relative.key\"\n" + service, Code::config_value, "5:7",
                 "not an absolute path");
}

BOOST_AUTO_TEST_CASE(duplicate_names_and_listen_addresses_are_refused) {
    const std::string other = "[[tls.service]]\nname = \"wiki\"\nlisten = \"127.0.0.1:9000\"\nbackend = \"127.0.0.1:1\"\n";
    expect_error(base + server + service + other, Code::config_value, "12:8", "already the name");
    const std::string same_listen =
        "[[tls.service]]\nname = \"w2\"\nlisten = \"127.0.0.1:8443\"\nbackend = \"127.0.0.1:1\"\n";
    expect_error(base + server + service + same_listen, Code::config_value, "13:10", "already the address");
}

BOOST_AUTO_TEST_CASE(identity_and_header_values_are_checked) {
    expect_error(base + server + service + "identity = \"proxy\"\n", Code::config_value, "11:12",
                 "use \"none\", \"proxy-v2\" or \"header\"");
    expect_error(base + server + service + "header = \"X-User\"\n", Code::config_value, "11:10",
                 "only meaningful with identity = \"header\"");
    expect_error(base + server + service + "identity = \"header\"\nheader = \"X User\"\n", Code::config_value, "12:10",
                 "not an HTTP header field name");
    expect_error(base + server + service + "identity = \"header\"\nheader = \"X-User:\"\n", Code::config_value, "12:10",
                 "not an HTTP header field name");
}

BOOST_AUTO_TEST_CASE(bad_names_and_types_are_refused) {
    expect_error(base + server + "[[tls.service]]\nname = \"a b\"\nlisten = \"127.0.0.1:1\"\nbackend = \"127.0.0.1:2\"\n",
                 Code::config_value, "8:8", "tls.service[0].name");
    expect_error(base + server + "max_handshakes = 0\n", Code::config_value, "7:18", "out of range");
    expect_error(base + server + "max_handshakes = \"10\"\n", Code::config_type, "7:18", "expected an integer");
    expect_error(base + server + "handshake_timeout = \"0s\"\n", Code::config_value, "7:21", "longer than 0");
    expect_error(base + server + "session_lifetime = \"2d\"\n", Code::config_value, "7:20", "at most");
    expect_error(base + server + service + "allow_users = \"alice\"\n", Code::config_type, "11:15", "array of strings");
    expect_error(base + "[tls]\nservice = 3\n", Code::config_type, "5:11", "[[tls.service]]");
}

BOOST_AUTO_TEST_CASE(client_key_refuses_pin_value_and_bad_uris) {
    const std::string c = "[[tls.client]]\nname = \"c\"\nlisten = \"9443\"\nconnect = \"127.0.0.1:8443\"\nserver_name = \"localhost\"\n";
    expect_error(base + c + "key = \"pkcs11:object=a;type=private?pin-value=123456\"\n", Code::config_value, "9:7",
                 "pin-value is not allowed");
    expect_error(base + c + "certificate = \"cert.pem\"\n", Code::config_value, "9:15",
                 "neither a pkcs11: URI nor an absolute path");
    expect_error(base + "[[tls.client]]\nname = \"c\"\nlisten = \"9443\"\nconnect = \"127.0.0.1:8443\"\n",
                 Code::config_missing, "4:1", "server_name: required");
    expect_error(base + "[[tls.client]]\nname = \"c\"\nlisten = \"9443\"\nconnect = \"127.0.0.1:8443\"\nserver_name = \"a b\"\n",
                 Code::config_value, "8:15", "not a DNS name");
}

// A client tunnel's plain side: [[tls.client]] on line 4, listen on line 6.
std::string client_with(const std::string& listen, const std::string& more = "") {
    return base + "[[tls.client]]\nname = \"c\"\nlisten = \"" + listen +
           "\"\nconnect = \"127.0.0.1:8443\"\nserver_name = \"localhost\"\n" + more;
}

BOOST_AUTO_TEST_CASE(client_listen_on_a_non_loopback_address_is_refused) {
    // The badge would be lent to the network: a config error at the line.
    for (const char* l : {"0.0.0.0:9443", "[::]:9443", "192.0.2.1:9443", "10.0.0.1:9443", "128.0.0.1:9443",
                          "[::ffff:127.0.0.1]:9443", "[fe80::1]:9443", "[::2]:9443"})
        expect_error(client_with(l), Code::config_value, "6:10", "is not a loopback address");
}

BOOST_AUTO_TEST_CASE(client_listen_on_loopback_parses) {
    for (const char* l : {"127.0.0.1:9443", "127.1.2.3:9443", "[::1]:9443", "9443", ":9443"}) {
        auto r = parse(client_with(l));
        BOOST_TEST_INFO(l << ": " << (r.ok() ? std::string() : r.error().message()));
        BOOST_REQUIRE(r.ok());
        BOOST_TEST(!r->tls.clients[0].listen_unix.has_value());
        BOOST_TEST(r->tls.clients[0].listen.port == 9443);
    }
}

BOOST_AUTO_TEST_CASE(client_listen_on_a_unix_socket_parses) {
    auto r = parse(client_with("unix:/run/user/1000/cardgate/wiki.sock"));
    BOOST_REQUIRE(r.ok());
    BOOST_REQUIRE(r->tls.clients[0].listen_unix.has_value());
    BOOST_TEST(*r->tls.clients[0].listen_unix == "/run/user/1000/cardgate/wiki.sock");
    BOOST_TEST(r->tls.clients[0].listen.text == "unix:/run/user/1000/cardgate/wiki.sock");
}

BOOST_AUTO_TEST_CASE(client_unix_socket_path_must_be_absolute_and_fit) {
    for (const std::string& l : {std::string("unix:"), std::string("unix:run/x.sock"), std::string("unix:@abstract"),
                                std::string("unix:/run/dir/"), "unix:/" + std::string(107, 'a')})
        expect_error(client_with(l), Code::config_value, "6:10", "is not a UNIX socket path");
}

BOOST_AUTO_TEST_CASE(client_allow_uids_and_check_revocation_parse) {
    auto r = parse(client_with("127.0.0.1:9443", "allow_uids = [1001, 0, 4294967294]\ncheck_revocation = false\n"));
    BOOST_TEST_INFO((r.ok() ? std::string() : r.error().message()));
    BOOST_REQUIRE(r.ok());
    BOOST_TEST((r->tls.clients[0].allow_uids == std::vector<std::uint32_t>{1001, 0, 4294967294u}));
    BOOST_TEST(!r->tls.clients[0].check_revocation);
    auto d = parse(client_with("127.0.0.1:9443"));
    BOOST_REQUIRE(d.ok());
    BOOST_TEST(d->tls.clients[0].allow_uids.empty());  // the owner alone
    BOOST_TEST(d->tls.clients[0].check_revocation);    // on by default
}

BOOST_AUTO_TEST_CASE(client_allow_uids_refuses_names_negatives_and_minus_one) {
    expect_error(client_with("9443", "allow_uids = [\"alice\"]\n"), Code::config_type, "9:15", "array of uids");
    expect_error(client_with("9443", "allow_uids = 1001\n"), Code::config_type, "9:14", "array of uids");
    expect_error(client_with("9443", "allow_uids = [-1]\n"), Code::config_value, "9:15", "is not a uid");
    expect_error(client_with("9443", "allow_uids = [4294967295]\n"), Code::config_value, "9:15", "is not a uid");
    expect_error(client_with("9443", "check_revocation = \"no\"\n"), Code::config_type, "9:20", "true or false");
}

BOOST_AUTO_TEST_CASE(tls_client_not_owner_is_in_the_catalogue) {
    BOOST_TEST(name(Code::tls_client_not_owner) == "tls_client_not_owner");
    BOOST_TEST(exit_code(Code::tls_client_not_owner) == 1);
}

BOOST_AUTO_TEST_SUITE_END()

// ------------------------------------------------------------------ PROXY v2

BOOST_AUTO_TEST_SUITE(proxy_v2)

BOOST_AUTO_TEST_CASE(ipv4_header_is_byte_exact) {
    ProxyInfo info;
    info.source = v4(192, 0, 2, 1, 40000);
    info.destination = v4(127, 0, 0, 1, 8443);
    info.authority = "wiki";
    info.tls_version = "TLSv1.3";
    info.cert_cn = "A";
    info.cipher = "C";
    info.user = "alice";
    info.groups = {"eng", "wheel"};
    info.cert_sha256 = "ab";
    info.privileges = {"ou:E"};
    auto r = encode_proxy_v2(info);
    BOOST_REQUIRE(r.ok());
    std::vector<std::uint8_t> want = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
                                      0x21, 0x11};
    std::vector<std::uint8_t> body = {192, 0, 2, 1, 127, 0, 0, 1, 0x9C, 0x40, 0x20, 0xFB};
    auto add = [&](std::uint8_t t, std::vector<std::uint8_t> v) {
        body.push_back(t);
        body.push_back(static_cast<std::uint8_t>(v.size() >> 8));
        body.push_back(static_cast<std::uint8_t>(v.size() & 0xFF));
        body.insert(body.end(), v.begin(), v.end());
    };
    add(0x02, bytes("wiki"));
    // PP2_TYPE_SSL: client = SSL|CERT_CONN|CERT_SESS, verify 0, then VERSION, CN, CIPHER.
    std::vector<std::uint8_t> ssl = {0x07, 0, 0, 0, 0, 0x21, 0, 7};
    for (char c : std::string_view("TLSv1.3")) ssl.push_back(static_cast<std::uint8_t>(c));
    ssl.insert(ssl.end(), {0x22, 0, 1, 'A', 0x23, 0, 1, 'C'});
    add(0x20, ssl);
    add(0xE0, bytes("alice"));
    add(0xE1, bytes("eng\nwheel"));
    add(0xE2, bytes("ab"));
    add(0xE3, bytes("ou:E"));
    add(0xE4, bytes("full"));
    want.push_back(static_cast<std::uint8_t>(body.size() >> 8));
    want.push_back(static_cast<std::uint8_t>(body.size() & 0xFF));
    want.insert(want.end(), body.begin(), body.end());
    BOOST_TEST(*r == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(resumed_session_has_no_cert_conn_flag) {
    ProxyInfo info;
    info.source = v4(10, 0, 0, 1, 1);
    info.destination = v4(10, 0, 0, 2, 2);
    info.resumed = true;
    auto r = encode_proxy_v2(info);
    BOOST_REQUIRE(r.ok());
    // no authority: the SSL TLV follows the 12 address bytes at offset 16.
    BOOST_TEST((*r)[28] == 0x20);
    BOOST_TEST((*r)[31] == (pp2::client_ssl | pp2::client_cert_sess));
    const std::string tail(r->end() - 7, r->end());
    BOOST_TEST(tail == "resumed");
}

BOOST_AUTO_TEST_CASE(mixed_families_are_sent_as_ipv6_with_mapped_ipv4) {
    ProxyInfo info;
    info.source.v6 = true;
    info.source.addr[15] = 1;  // ::1
    info.source.port = 5;
    info.destination = v4(127, 0, 0, 1, 443);
    auto r = encode_proxy_v2(info);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST((*r)[13] == 0x21);
    const std::vector<std::uint8_t> mapped(r->begin() + 32, r->begin() + 48);
    const std::vector<std::uint8_t> want = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 127, 0, 0, 1};
    BOOST_TEST(mapped == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(list_items_with_a_newline_are_dropped_not_split) {
    ProxyInfo info;
    info.source = v4(1, 1, 1, 1, 1);
    info.destination = v4(2, 2, 2, 2, 2);
    info.groups = {"eng", "admin\nwheel", ""};
    auto r = encode_proxy_v2(info);
    BOOST_REQUIRE(r.ok());
    const std::string s(r->begin(), r->end());
    BOOST_TEST(s.find("admin") == std::string::npos);
    BOOST_TEST(s.find(std::string("\xE1\x00\x03", 3) + "eng") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(oversized_value_is_an_error) {
    ProxyInfo info;
    info.user = std::string(70000, 'a');
    auto r = encode_proxy_v2(info);
    BOOST_TEST(r.code() == Code::internal);
}

BOOST_AUTO_TEST_SUITE_END()

// ------------------------------------------------------------------ identity header

BOOST_AUTO_TEST_SUITE(identity_header)

BOOST_AUTO_TEST_CASE(plain_request_gets_the_header_and_connection_close) {
    auto r = rewrite("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    BOOST_TEST(r.status == S::ok);
    BOOST_TEST(r.head == "GET / HTTP/1.1\r\nHost: x\r\nX-Cardgate-User: alice\r\nConnection: close\r\n\r\n");
    BOOST_TEST(r.body_length == 0u);
}

BOOST_AUTO_TEST_CASE(forged_header_in_any_case_or_with_underscores_is_stripped) {
    auto r = rewrite("GET / HTTP/1.1\r\nX-Cardgate-User: root\r\nx-cardgate-user: root\r\nX_CARDGATE_USER:root\r\n"
                     "x-CarDgate_uSer: \troot \r\nHost: x\r\n\r\n");
    BOOST_TEST(r.status == S::ok);
    BOOST_TEST(r.stripped == 4u);
    BOOST_TEST(count(r.head, "root") == 0u);
    BOOST_TEST(count(r.head, "X-Cardgate-User: alice") == 1u);
}

BOOST_AUTO_TEST_CASE(similar_but_different_names_are_kept) {
    auto r = rewrite("GET / HTTP/1.1\r\nX-Cardgate-Users: a\r\nX-Cardgate-User2: b\r\n\r\n");
    BOOST_TEST(r.status == S::ok);
    BOOST_TEST(r.stripped == 0u);
    BOOST_TEST(count(r.head, "X-Cardgate-Users: a") == 1u);
}

BOOST_AUTO_TEST_CASE(obs_fold_is_refused) {
    BOOST_TEST(rewrite("GET / HTTP/1.1\r\nX-A: b\r\n X-Cardgate-User: root\r\n\r\n").status == S::bad);
    BOOST_TEST(rewrite("GET / HTTP/1.1\r\nX-A: b\r\n\tX-Cardgate-User: root\r\n\r\n").status == S::bad);
}

BOOST_AUTO_TEST_CASE(whitespace_before_colon_is_refused) {
    BOOST_TEST(rewrite("GET / HTTP/1.1\r\nX-Cardgate-User : root\r\n\r\n").status == S::bad);
    BOOST_TEST(rewrite("GET / HTTP/1.1\r\nX-Cardgate-User\t: root\r\n\r\n").status == S::bad);
    BOOST_TEST(rewrite("GET / HTTP/1.1\r\n X-Cardgate-User: root\r\n\r\n").status == S::bad);
}

BOOST_AUTO_TEST_CASE(bare_lf_cr_and_nul_are_refused) {
    BOOST_TEST(rewrite("GET / HTTP/1.1\r\nHost: x\nX-Cardgate-User: root\r\n\r\n").status == S::bad);
    BOOST_TEST(rewrite("GET / HTTP/1.1\r\nHost: x\rX-Cardgate-User: root\r\n\r\n").status == S::bad);
    BOOST_TEST(rewrite(std::string("GET / HTTP/1.1\r\nHost: x\0y\r\n\r\n", 27)).status == S::bad);
    // Already hopeless before the head is complete.
    BOOST_TEST(rewrite("GET / HTTP/1.1\nHost").status == S::bad);
}

BOOST_AUTO_TEST_CASE(connection_option_naming_the_header_is_removed) {
    auto r = rewrite("GET / HTTP/1.1\r\nConnection: keep-alive, X-Cardgate-User\r\nKeep-Alive: 5\r\n"
                     "Proxy-Connection: x\r\n\r\n");
    BOOST_TEST(r.status == S::ok);
    BOOST_TEST(count(r.head, "Connection:") == 1u);
    BOOST_TEST(count(r.head, "Connection: close") == 1u);
    BOOST_TEST(count(r.head, "Keep-Alive") == 0u);
}

BOOST_AUTO_TEST_CASE(transfer_encoding_is_unsupported) {
    BOOST_TEST(rewrite("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").status == S::unsupported);
    BOOST_TEST(rewrite("POST / HTTP/1.1\r\ntransfer-encoding: identity\r\n\r\n").status == S::unsupported);
}

BOOST_AUTO_TEST_CASE(content_length_must_agree_and_be_digits) {
    auto ok = rewrite("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello");
    BOOST_TEST(ok.status == S::ok);
    BOOST_TEST(ok.body_length == 5u);
    BOOST_TEST(ok.consumed == std::string("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n").size());
    BOOST_TEST(rewrite("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n").status == S::bad);
    BOOST_TEST(rewrite("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n").status == S::bad);
    BOOST_TEST(rewrite("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n").status == S::bad);
    BOOST_TEST(rewrite("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n").status == S::bad);
}

BOOST_AUTO_TEST_CASE(bad_request_lines_are_refused) {
    for (const char* req : {"GET /\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n",
                            "GET /\x7f HTTP/1.1\r\n\r\n", "\r\n\r\n", "GET / HTTP/1.1 \r\n\r\n"})
        BOOST_TEST(rewrite(req).status == S::bad, req);
}

BOOST_AUTO_TEST_CASE(empty_name_and_missing_colon_are_refused) {
    BOOST_TEST(rewrite("GET / HTTP/1.1\r\n: x\r\n\r\n").status == S::bad);
    BOOST_TEST(rewrite("GET / HTTP/1.1\r\nHost x\r\n\r\n").status == S::bad);
}

BOOST_AUTO_TEST_CASE(incomplete_then_too_large) {
    BOOST_TEST(rewrite("GET / HTTP/1.1\r\nHost: x\r\n").status == S::incomplete);
    const std::string big = "GET / HTTP/1.1\r\nX: " + std::string(max_request_head, 'a');
    BOOST_TEST(rewrite(big).status == S::too_large);
    BOOST_TEST(rewrite(big + "\r\n\r\n").status == S::too_large);
}

BOOST_AUTO_TEST_CASE(user_that_cannot_be_a_header_value_is_refused) {
    BOOST_TEST(rewrite_request_head("GET / HTTP/1.1\r\n\r\n", "X-U", "a\r\nX-U: root").status == S::bad);
    BOOST_TEST(rewrite_request_head("GET / HTTP/1.1\r\n\r\n", "X-U", "").status == S::bad);
}

BOOST_AUTO_TEST_CASE(refusal_responses_close) {
    BOOST_TEST(refusal_response(S::bad).rfind("HTTP/1.1 400 ", 0) == 0);
    BOOST_TEST(refusal_response(S::too_large).rfind("HTTP/1.1 431 ", 0) == 0);
    BOOST_TEST(refusal_response(S::unsupported).rfind("HTTP/1.1 501 ", 0) == 0);
    BOOST_TEST(refusal_response(S::bad).find("Connection: close") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// ------------------------------------------------------------------ authorisation, audit

BOOST_AUTO_TEST_SUITE(authorisation)

TlsService svc(std::vector<std::string> users, std::vector<std::string> groups, std::vector<std::string> privs) {
    TlsService s;
    s.name = "wiki";
    s.allow_users = std::move(users);
    s.allow_groups = std::move(groups);
    s.allow_privileges = std::move(privs);
    return s;
}

Identity alice() {
    Identity i;
    i.account = "alice";
    i.groups = {"alice", "eng"};
    i.privileges = {"group:alice", "group:eng", "ou:Engineering"};
    return i;
}

BOOST_AUTO_TEST_CASE(empty_lists_allow_nobody) { BOOST_TEST(!authorise(svc({}, {}, {}), alice()).allowed); }

BOOST_AUTO_TEST_CASE(any_list_can_allow) {
    BOOST_TEST(authorise(svc({"alice"}, {}, {}), alice()).allowed);
    BOOST_TEST(authorise(svc({}, {"eng"}, {}), alice()).allowed);
    BOOST_TEST(authorise(svc({}, {}, {"ou:Engineering"}), alice()).allowed);
    BOOST_TEST(authorise(svc({"bob"}, {"sales"}, {"ou:Engineering"}), alice()).detail == "allow_privileges: ou:Engineering");
}

BOOST_AUTO_TEST_CASE(comparisons_are_exact) {
    BOOST_TEST(!authorise(svc({"Alice", "alice "}, {"Eng"}, {"ou:engineering", "group:Eng"}), alice()).allowed);
    // A group name is not a user name, nor the other way round.
    BOOST_TEST(!authorise(svc({"eng"}, {}, {}), alice()).allowed);
    BOOST_TEST(!authorise(svc({}, {}, {"eng"}), alice()).allowed);
}

BOOST_AUTO_TEST_CASE(audit_line_is_clean_and_complete) {
    AuditRecord r;
    r.outcome = "denied";
    r.code = Code::cert_revoked;
    r.user = "al\"ice\n";
    r.service = "wiki";
    r.peer = "127.0.0.1:5";
    r.resumed = true;
    r.detail = "x\x1b[31m";
    const std::string line = format_audit(r);
    BOOST_TEST(line.find("outcome=denied purpose=tls reason=cert_revoked user=\"al?ice?\" service=\"wiki\" "
                         "peer=\"127.0.0.1:5\" resumed=yes") == 0u + std::string("cardgate-tunnel: ").size());
    BOOST_TEST(line.find('\x1b') == std::string::npos);
    BOOST_TEST(line.find("cert_serial=- cert_sha256=-") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// ------------------------------------------------------- admission

BOOST_AUTO_TEST_SUITE(admission)

namespace {

struct Victim : Evictable {
    int evicted = 0;
    void evict() override { ++evicted; }
};

AdmissionLimits limits(unsigned max_pending, unsigned per_source, unsigned rate = 1000, unsigned burst = 1000) {
    AdmissionLimits l;
    l.max_pending = max_pending;
    l.per_source = per_source;
    l.rate = rate;
    l.burst = burst;
    return l;
}

const SteadyTime t0{};

}  // namespace

BOOST_AUTO_TEST_CASE(tls_admission_keys_parse_and_are_range_checked) {
    auto r = parse(base + server + "max_handshakes_per_source = 4\nhandshake_rate_per_source = 7\n"
                   "handshake_burst_per_source = 9\nclient_hello_timeout = \"1s\"\n");
    BOOST_TEST_INFO((r.ok() ? std::string() : r.error().message()));
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->tls.max_handshakes_per_source == 4u);
    BOOST_TEST(r->tls.handshake_rate_per_source == 7u);
    BOOST_TEST(r->tls.handshake_burst_per_source == 9u);
    BOOST_TEST((r->tls.client_hello_timeout == 1s));
    expect_error(base + server + "max_handshakes_per_source = 0\n", Code::config_value, "7:29", "out of range");
    expect_error(base + server + "client_hello_timeout = \"0s\"\n", Code::config_value, "7:24", "longer than 0");
    expect_error(base + server + "handshake_rate_per_source = 1.5\n", Code::config_type, "7:29", "expected an integer");
}

BOOST_AUTO_TEST_CASE(ipv6_sources_are_grouped_by_64_and_mapped_v4_is_v4) {
    namespace ip = boost::asio::ip;
    BOOST_TEST(source_of(ip::make_address("192.0.2.7")) == "192.0.2.7");
    BOOST_TEST(source_of(ip::make_address("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::/64");
    BOOST_TEST(source_of(ip::make_address("2001:db8:1:2:ffff:1:2:3")) == "2001:db8:1:2::/64");
    BOOST_TEST(source_of(ip::make_address("2001:db8:1:3::1")) == "2001:db8:1:3::/64");
    BOOST_TEST(source_of(ip::make_address("::ffff:192.0.2.7")) == "192.0.2.7");
}

BOOST_AUTO_TEST_CASE(one_source_cannot_take_more_than_its_share) {
    auto a = Admission::create(limits(100, 3));
    std::vector<std::unique_ptr<Admission::Ticket>> held;
    for (int i = 0; i < 3; ++i) held.push_back(std::move(a->admit("192.0.2.9", t0).ticket));
    auto fourth = a->admit("192.0.2.9", t0);
    BOOST_TEST(!fourth.ticket);
    BOOST_TEST((fourth.refusal == Refusal::per_source));
    BOOST_TEST(a->admit("192.0.2.1", t0).ticket != nullptr);  // another source is not affected
    held.pop_back();                                           // one place given back
    BOOST_TEST(a->admit("192.0.2.9", t0).ticket != nullptr);
}

BOOST_AUTO_TEST_CASE(a_flood_from_one_source_empties_its_bucket_only) {
    auto a = Admission::create(limits(1000, 1000, 10, 20));
    int admitted = 0;
    for (int i = 0; i < 100; ++i) admitted += a->admit("192.0.2.9", t0).ticket ? 1 : 0;  // each released at once
    BOOST_TEST(admitted == 20);  // the burst
    auto next = a->admit("192.0.2.9", t0);
    BOOST_TEST((!next.ticket && next.refusal == Refusal::rate));
    BOOST_TEST(a->admit("192.0.2.1", t0).ticket != nullptr);
    admitted = 0;
    for (int i = 0; i < 100; ++i) admitted += a->admit("192.0.2.9", t0 + 1s).ticket ? 1 : 0;
    BOOST_TEST(admitted == 10);  // one second refills `rate`
}

BOOST_AUTO_TEST_CASE(a_full_budget_evicts_the_oldest_unfinished_handshake) {
    auto a = Admission::create(limits(3, 3));
    auto v1 = std::make_shared<Victim>(), v2 = std::make_shared<Victim>(), v3 = std::make_shared<Victim>();
    auto t1 = std::move(a->admit("192.0.2.9", t0).ticket);
    auto t2 = std::move(a->admit("192.0.2.9", t0).ticket);
    auto t3 = std::move(a->admit("192.0.2.8", t0).ticket);
    t1->bind(v1);
    t2->bind(v2);
    t3->bind(v3);
    t1->handshake_done();  // past its handshake: keeps its place
    auto o = a->admit("192.0.2.1", t0);
    BOOST_REQUIRE(o.ticket != nullptr);
    BOOST_TEST(o.victim.get() == static_cast<Evictable*>(v2.get()));  // the oldest still unfinished
    BOOST_TEST(a->pending() == 3u);
    BOOST_TEST(a->pending_from("192.0.2.9") == 1u);
    t2.reset();  // the evicted connection's ticket releases nothing twice
    BOOST_TEST(a->pending() == 3u);
}

BOOST_AUTO_TEST_CASE(a_full_budget_of_finished_handshakes_refuses_the_newcomer) {
    auto a = Admission::create(limits(2, 2));
    auto v = std::make_shared<Victim>();
    auto t1 = std::move(a->admit("192.0.2.9", t0).ticket);
    auto t2 = std::move(a->admit("192.0.2.8", t0).ticket);
    t1->bind(v);
    t1->handshake_done();
    // t2 is not bound yet (being set up): not evictable either.
    auto o = a->admit("192.0.2.1", t0);
    BOOST_TEST(!o.ticket);
    BOOST_TEST((o.refusal == Refusal::budget_full));
    BOOST_TEST(!o.victim);
}

BOOST_AUTO_TEST_CASE(idle_sources_are_forgotten) {
    auto a = Admission::create(limits(100000, 10, 100, 100));
    for (int i = 0; i < 5000; ++i) a->admit("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), t0);
    BOOST_TEST(a->sources_tracked() <= 5000u);
    for (int i = 0; i < 1100; ++i) a->admit("192.0.2.1", t0 + 10s);  // buckets full again by then
    BOOST_TEST(a->sources_tracked() < 10u);
}

BOOST_AUTO_TEST_CASE(refusals_are_summarised_once_per_source_and_burst) {
    RefusalLog log(1s, 10s);
    for (int i = 0; i < 372; ++i) log.add("wiki", "127.0.0.9", Refusal::per_source, t0 + i * 5ms);
    log.add("wiki", "127.0.0.8", Refusal::rate, t0);
    BOOST_TEST(log.due(t0 + 1s).size() == 1u);  // 127.0.0.8's burst is quiet; 127.0.0.9's goes on
    BOOST_TEST(log.due(t0 + 2s).empty());
    auto bursts = log.due(t0 + 1860ms + 1s);
    BOOST_REQUIRE(bursts.size() == 1u);
    BOOST_TEST(bursts[0].count == 372u);
    BOOST_TEST(summary(bursts[0]) ==
               "refused 372 connections from 127.0.0.9 in 1.9 s: per-source handshake limit (tls.max_handshakes_per_source)");
    BOOST_TEST(log.due(t0 + 1h, true).empty());
}

BOOST_AUTO_TEST_CASE(a_sustained_attack_is_reported_every_span) {
    RefusalLog log(1s, 10s);
    int lines = 0;
    for (int i = 0; i < 3000; ++i) {  // 30 s of refusals every 10 ms
        log.add("wiki", "127.0.0.9", Refusal::client_hello_timeout, t0 + i * 10ms);
        lines += static_cast<int>(log.due(t0 + i * 10ms).size());
    }
    lines += static_cast<int>(log.due(t0 + 1h).size());
    BOOST_TEST(lines >= 3);
    BOOST_TEST(lines <= 4);
}

BOOST_AUTO_TEST_SUITE_END()
