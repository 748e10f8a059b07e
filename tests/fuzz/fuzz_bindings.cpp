// Fuzz target: the strong bindings file (src/bindings.hpp).
//
// Each input is a bindings file. Every line goes through parse_binding_line,
// and an accepted binding must have the documented form and survive being
// written out and parsed again. The whole input is also written to a private
// file and read by BindingsFile::check and BindingsFile::open, which must agree
// with the line-by-line verdict, and lookup() of the fixed certificate must
// return exactly the lines whose binding names it (a linear scan with
// binding_matches is the oracle for the hashed table).
//
// Run by hand: tests/fuzz/run-long; briefly by `make check` (tests/fuzz/bindings.sh).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "accounts.hpp"
#include "bindings.hpp"
#include "dn.hpp"
#include "tests/fuzz/fixed_cert.hpp"

using namespace cardgate;

namespace {

// A directory only we can use, made once; BindingsFile refuses files others could write.
struct Scratch {
    std::string dir;
    std::string file;
    Scratch() {
        const char* tmp = std::getenv("TMPDIR");
        std::string pattern = std::string(tmp && tmp[0] == '/' ? tmp : "/tmp") + "/cardgate-fuzz.XXXXXX";
        if (!::mkdtemp(pattern.data())) {
            std::perror("mkdtemp");
            std::abort();
        }
        dir = pattern;
        file = dir + "/bindings";
    }
    ~Scratch() {
        ::unlink(file.c_str());
        ::rmdir(dir.c_str());
    }
};

const Scratch& scratch() {
    static const Scratch s;
    return s;
}

void write_file(const std::string& path, std::string_view text) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        std::perror(path.c_str());
        std::abort();
    }
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n <= 0) {
            std::perror("write");
            std::abort();
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

bool all_of(std::string_view s, std::string_view allowed) {
    return s.find_first_not_of(allowed) == std::string_view::npos;
}
constexpr std::string_view lower_hex = "0123456789abcdef";
constexpr std::string_view upper_hex = "0123456789ABCDEF";

// The documented form of an accepted binding (bindings.hpp).
void check_form(const Binding& b, std::string_view line) {
    FUZZ_REQUIRE(account_name_problem(b.user).empty(), line);
    switch (b.kind) {
    case BindingKind::spki_sha256:
    case BindingKind::cert_sha256:
        FUZZ_REQUIRE(b.value.size() == 64 && all_of(b.value, lower_hex), line);
        FUZZ_REQUIRE(b.issuer.empty(), line);
        break;
    case BindingKind::ski:
        FUZZ_REQUIRE(b.value.size() % 2 == 0 && b.value.size() >= 8 && b.value.size() <= 128, line);
        FUZZ_REQUIRE(all_of(b.value, lower_hex), line);
        FUZZ_REQUIRE(b.issuer.empty(), line);
        break;
    case BindingKind::issuer_serial:
        FUZZ_REQUIRE(!b.value.empty() && b.value.size() <= 64 && all_of(b.value, upper_hex), line);
        FUZZ_REQUIRE(b.value.size() == 1 || b.value.front() != '0', line);  // no leading zeros
        FUZZ_REQUIRE(!b.issuer.empty(), line);
        FUZZ_REQUIRE(b.issuer.front() != ' ' && b.issuer.front() != '\t', line);
        FUZZ_REQUIRE(b.issuer.back() != ' ' && b.issuer.back() != '\t', line);
        FUZZ_REQUIRE(parse_dn(b.issuer).ok(), line);
        break;
    default:
        FUZZ_REQUIRE(false && "unknown kind", line);
    }
}

// Written out in canonical form, the binding parses to itself.
void check_round_trip(const Binding& b, std::string_view line) {
    std::string again = b.user + "\t" + std::string(binding_kind_name(b.kind)) + "\t" + b.value;
    if (b.kind == BindingKind::issuer_serial) again += "\t" + b.issuer;
    auto r = parse_binding_line(again);
    FUZZ_REQUIRE(r.ok() && r->has_value(), again);
    const Binding& c = **r;
    FUZZ_REQUIRE(c.user == b.user && c.kind == b.kind && c.value == b.value && c.issuer == b.issuer, line);
}

struct Expected {
    bool all_valid = true;
    std::size_t bad_lines = 0;
    std::size_t bindings = 0;
    std::set<unsigned> matching;  // lines whose binding names the fixed certificate
};

// The file's verdict, line by line, as for_each_line in bindings.cpp splits it.
Expected scan(std::string_view text, const Certificate& cert) {
    Expected e;
    unsigned n = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++n;
        auto b = parse_binding_line(line);
        if (!b) {
            FUZZ_REQUIRE(b.code() == Code::config_value, line);
            e.all_valid = false;
            ++e.bad_lines;
            continue;
        }
        if (!*b) continue;
        ++e.bindings;
        check_form(**b, line);
        check_round_trip(**b, line);
        const bool m = binding_matches(**b, cert);
        FUZZ_REQUIRE(binding_matches(**b, cert) == m, line);  // no hidden state
        if (m) e.matching.insert(n);
    }
    return e;
}

void check_file(std::string_view text, const Expected& e, const Certificate& cert) {
    const std::string& path = scratch().file;
    write_file(path, text);

    auto report = BindingsFile::check(path);
    FUZZ_REQUIRE(report.ok(), report.error().detail());
    FUZZ_REQUIRE(report->errors.empty() == e.all_valid, text);
    FUZZ_REQUIRE(report->errors.size() == std::min<std::size_t>(e.bad_lines, 20), text);
    FUZZ_REQUIRE(report->bindings == e.bindings, text);

    auto file = BindingsFile::open(path, nullptr);
    FUZZ_REQUIRE(file.ok() == e.all_valid, file.ok() ? text : std::string_view(file.error().detail()));
    if (!file) {
        FUZZ_REQUIRE(file.code() == Code::config_value, file.error().detail());
        return;
    }
    FUZZ_REQUIRE(file->size() == e.bindings, text);
    FUZZ_REQUIRE(!file->from_index(), text);

    auto hits = file->lookup(cert);
    FUZZ_REQUIRE(hits.ok(), hits.error().detail());
    std::set<unsigned> got;
    unsigned last = 0;
    for (const BindingHit& h : *hits) {
        FUZZ_REQUIRE(h.binding.line > last, text);  // file order, each line once
        last = h.binding.line;
        FUZZ_REQUIRE(h.source == path + ":" + std::to_string(h.binding.line), h.source);
        FUZZ_REQUIRE(binding_matches(h.binding, cert), h.source);
        got.insert(h.binding.line);
    }
    FUZZ_REQUIRE(got == e.matching, text);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    (void)fuzz::fixed_cert();
    (void)scratch();
    // The scratch directory must pass BindingsFile's ownership checks, or
    // every input would fail for a reason that has nothing to do with it.
    write_file(scratch().file, "");
    auto empty = BindingsFile::open(scratch().file, nullptr);
    if (!empty) cardgate::fuzz::invariant_failed(__FILE__, __LINE__, "an empty bindings file opens", empty.error().detail());
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const Certificate& cert = fuzz::fixed_cert();
    const Expected e = scan(text, cert);
    check_file(text, e, cert);
    return 0;
}
