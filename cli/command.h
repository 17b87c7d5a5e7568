// What every `topicwire` subcommand shares: where it reads and writes, its exit codes, and the
// registry entry each cli/<command>.cc exports (its CommandSpec beside its handler).
#ifndef TOPICWIRE_CLI_COMMAND_H_
#define TOPICWIRE_CLI_COMMAND_H_

#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/command_line.h"
#include "common/curve_keys.h"
#include "common/shutdown.h"

namespace topicwire::cli {

// Exit codes shared by the subcommands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // ran, but something was rejected or not received
inline constexpr int kExitUsage = 2;   // bad arguments, unreadable input, no connection

// Where a command reads and writes, and how it learns to stop.
struct CommandIo {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  // true: a command that runs until stopped turns SIGINT/SIGTERM into its shutdown fd (only
  // once it no longer reads standard input, so Ctrl-C still interrupts a read). false (tests):
  // `shutdown_fd` is used instead; -1 means never.
  bool use_signals = false;
  int shutdown_fd = -1;
};

// Runs a subcommand on its parsed arguments; returns the exit code.
using CommandHandler = int (*)(const ParsedArgs& args, CommandIo& io);

// One entry of the registry (cli/commands.cc): the flags and help, and the work.
struct Command {
  CommandSpec spec;
  CommandHandler run;
};

// Prints "topicwire COMMAND: MESSAGE" on io.err and returns `code`.
int Fail(CommandIo& io, const std::string& command, const absl::Status& status,
         int code = kExitUsage);

// kInvalidArgument naming the first positional argument, for commands that take none.
absl::Status NoArguments(const ParsedArgs& args);

// `flags` followed by a CurveZMQ client's two flags, --curve-server-key (described by
// `server_key_help`) and --curve-key.
std::vector<FlagSpec> WithCurveClientFlags(std::vector<FlagSpec> flags,
                                           const std::string& server_key_help);
// The client options those two flags give (common/curve_keys.h's LoadClientOptions).
absl::StatusOr<curve::ClientOptions> CurveClientOptions(const ParsedArgs& args);

// The fd a long-running command stops on: io.shutdown_fd, or with io.use_signals a signalfd for
// SIGINT/SIGTERM kept alive in `holder`.
absl::StatusOr<int> ShutdownFd(CommandIo& io, std::optional<Shutdown>& holder);

}  // namespace topicwire::cli

#endif  // TOPICWIRE_CLI_COMMAND_H_
