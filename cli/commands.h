// The `topicwire` command line: subcommand dispatch, flags -> Options, exit codes. main.cc only
// forwards argv here, so tests drive the whole CLI in-process.
#ifndef TOPICWIRE_CLI_COMMANDS_H_
#define TOPICWIRE_CLI_COMMANDS_H_

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "cli/command_line.h"

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

// Every subcommand's flags, for --help and for tests.
const std::vector<CommandSpec>& AllCommands();

// Runs `topicwire <args...>` (args excludes the program name) and returns the exit code.
int RunCli(const std::vector<std::string>& args, CommandIo io);

}  // namespace topicwire::cli

#endif  // TOPICWIRE_CLI_COMMANDS_H_
