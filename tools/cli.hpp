// Shared plumbing of the cardgate CLI: options, output (human or --json), exit.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/result.hpp"
#include "src/revocation.hpp"

namespace cardgate::cli {

using Json = nlohmann::ordered_json;

struct Options {
    std::string command;
    std::optional<std::string> config_path;  // --config; else $CARDGATE_CONF; else /etc/cardgate/cardgate.conf
    bool json = false;
    std::optional<std::string> purpose;      // --purpose
    std::optional<std::string> pin_source;   // --pin-source file:PATH
    std::optional<std::string> module;       // --module PATH (overrides token.module)
    std::optional<std::string> host;         // --host (challenge context; default: this host's name)
    std::optional<std::string> index_dir;    // --index-dir (derived index files; default: built in / mapping.index_dir)
    std::optional<std::string> user;         // --user (map: the account asked for, as PAM_USER)
    bool offline = false;                    // --offline (revocation status: files and kept answers only)
    std::vector<std::string> args;           // positional arguments after the command
};

// Parses argv; on a usage error returns Code::usage with the reason.
Result<Options> parse_options(int argc, char** argv);
std::string config_path(const Options& o);
std::string usage_text();

// Where a command's result goes. Human text goes to stdout as it is produced;
// with --json, one JSON document is printed at the end.
class Output {
public:
    explicit Output(bool json) : json_(json) {}
    bool json() const { return json_; }
    Json& doc() { return doc_; }
    // A line for humans (ignored in --json mode).
    void line(const std::string& s) const;
    // Prints the JSON document (in --json mode) and returns the exit code for `code`.
    int finish(Code code);
    // Reports an error: stderr for humans, an "error" member for --json. Returns the exit code.
    int fail(const Error& e);
    // The code the command finished with.
    Code last_code() const { return last_; }

private:
    bool json_;
    Code last_ = Code::ok;
    Json doc_ = Json::object();
};

// Commands: each returns the process exit code.
int cmd_list(const Options& o, Output& out);
int cmd_verify(const Options& o, Output& out);
int cmd_prove(const Options& o, Output& out);
int cmd_check_config(const Options& o, Output& out);
int cmd_map(const Options& o, Output& out);
int cmd_revocation(const Options& o, Output& out);
int cmd_pin(const Options& o, Output& out);

// Each chain certificate's revocation status (revocation.hpp) for --json.
Json revocation_json(const std::vector<CertRevocation>& statuses, std::time_t now);

// Lower-case hex of bytes.
std::string hex(const std::vector<unsigned char>& v);

}  // namespace cardgate::cli
