#include "cli/command.h"

#include "absl/strings/str_cat.h"

namespace topicwire::cli {

int Fail(CommandIo& io, const std::string& command, const absl::Status& status, int code) {
  io.err << "topicwire " << command << ": " << status.message() << "\n";
  return code;
}

absl::Status NoArguments(const ParsedArgs& args) {
  if (args.positional().empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("takes no arguments, got '", args.positional()[0], "'"));
}

std::vector<FlagSpec> WithCurveClientFlags(std::vector<FlagSpec> flags,
                                           const std::string& server_key_help) {
  flags.push_back({"curve-server-key", "KEY|FILE", "", server_key_help});
  flags.push_back(
      {"curve-key", "PREFIX", "", "This client's key files from topicwire keygen (PREFIX.key)"});
  return flags;
}

absl::StatusOr<curve::ClientOptions> CurveClientOptions(const ParsedArgs& args) {
  return curve::LoadClientOptions(args.Get("curve-server-key"), args.Get("curve-key"));
}

absl::StatusOr<int> ShutdownFd(CommandIo& io, std::optional<Shutdown>& holder) {
  if (!io.use_signals) return io.shutdown_fd;
  absl::StatusOr<Shutdown> shutdown = Shutdown::FromSignals();
  if (!shutdown.ok()) return shutdown.status();
  holder.emplace(std::move(*shutdown));
  return holder->fd();
}

}  // namespace topicwire::cli
