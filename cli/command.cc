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

absl::StatusOr<int> ShutdownFd(CommandIo& io, std::optional<Shutdown>& holder) {
  if (!io.use_signals) return io.shutdown_fd;
  absl::StatusOr<Shutdown> shutdown = Shutdown::FromSignals();
  if (!shutdown.ok()) return shutdown.status();
  holder.emplace(std::move(*shutdown));
  return holder->fd();
}

}  // namespace topicwire::cli
