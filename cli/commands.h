// The `topicwire` command line: the registry of subcommands and the dispatch over it. main.cc
// only forwards argv here, so tests drive the whole CLI in-process. Each subcommand's flags and
// work live together in cli/<command>.cc (see cli/command.h).
#ifndef TOPICWIRE_CLI_COMMANDS_H_
#define TOPICWIRE_CLI_COMMANDS_H_

#include <string>
#include <vector>

#include "cli/command.h"

namespace topicwire::cli {

// Every subcommand, in the order `topicwire --help` lists them.
const std::vector<Command>& AllCommands();

// Runs `topicwire <args...>` (args excludes the program name) and returns the exit code. An
// unknown command is a usage error (exit 2) that lists the commands.
int RunCli(const std::vector<std::string>& args, CommandIo io);

}  // namespace topicwire::cli

#endif  // TOPICWIRE_CLI_COMMANDS_H_
