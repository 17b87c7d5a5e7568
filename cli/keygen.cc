#include "cli/keygen.h"

#include "common/curve_keys.h"
#include "common/status_macros.h"

namespace topicwire::cli {

absl::Status Keygen(const std::string& prefix, std::ostream& out, std::ostream& err) {
  if (prefix.empty()) return absl::InvalidArgumentError("--out must name a file prefix");
  ASSIGN_OR_RETURN(const curve::KeyPair keys, curve::GenerateKeyPair());
  RETURN_IF_ERROR(curve::WriteKeyFiles(prefix, keys));
  out << keys.public_key << "\n";
  err << "wrote " << prefix << ".key (secret: keep it, mode 0600) and " << prefix
      << ".pub (public: add it to the servers' --curve_allow, or give it to clients as "
         "--curve-server-key)\n";
  return absl::OkStatus();
}

namespace {

const CommandSpec kKeygen = {
    .name = "keygen",
    .arguments = "",
    .brief = "Create a CurveZMQ key pair (PREFIX.key, PREFIX.pub)",
    .summary =
        "Creates a CurveZMQ key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub\n"
        "(public), and prints the public key. A stage takes its PREFIX.key as\n"
        "--curve_secret_key_file and admits the clients whose public keys are listed\n"
        "in --curve_allow (bare keys or .pub files' lines); a client passes its\n"
        "PREFIX as --curve-key and the server's .pub as --curve-server-key.",
    .flags = {
        {"out", "PREFIX", "topicwire", "Write PREFIX.key and PREFIX.pub (never overwrites)"},
    }};

int RunKeygenCommand(const ParsedArgs& args, CommandIo& io) {
  if (absl::Status status = NoArguments(args); !status.ok()) return Fail(io, "keygen", status);
  if (absl::Status status = Keygen(args.Get("out"), io.out, io.err); !status.ok()) {
    return Fail(io, "keygen", status, kExitFailed);
  }
  return kExitOk;
}

}  // namespace

const Command& KeygenCommand() {
  static const Command* const command = new Command{kKeygen, RunKeygenCommand};
  return *command;
}

}  // namespace topicwire::cli
