#include "cli/commands.h"

#include "absl/strings/str_cat.h"
#include "cli/bench.h"
#include "cli/deadletters.h"
#include "cli/keygen.h"
#include "cli/publish.h"
#include "cli/subscribe.h"
#include "cli/tag.h"
#include "cli/up.h"

namespace topicwire::cli {
namespace {

std::string TopLevelUsage() {
  std::string text =
      "usage: topicwire COMMAND [flags] [args]\n\n"
      "topicwire tags news and technology articles with topics and streams them to "
      "subscribers.\n\ncommands:\n";
  for (const Command& command : AllCommands()) {
    const CommandSpec& spec = command.spec;
    absl::StrAppend(&text, "  ", spec.name, std::string(12 - spec.name.size(), ' '), spec.brief,
                    "\n");
  }
  absl::StrAppend(&text, "\n'topicwire COMMAND --help' lists the command's flags.\n");
  return text;
}

const Command* FindCommand(const std::string& name) {
  for (const Command& command : AllCommands()) {
    if (command.spec.name == name) return &command;
  }
  return nullptr;
}

}  // namespace

const std::vector<Command>& AllCommands() {
  static const std::vector<Command>* const commands = new std::vector<Command>{
      UpCommand(),       PublishCommand(), SubscribeCommand(),   TagCommand(),   EvalCommand(),
      TaxonomyCommand(), KeygenCommand(),  DeadLettersCommand(), BenchCommand(),
  };
  return *commands;
}

int RunCli(const std::vector<std::string>& args, CommandIo io) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    if (args.size() >= 2 && args[0] == "help") return RunCli({args[1], "--help"}, io);
    (args.empty() ? io.err : io.out) << TopLevelUsage();
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] == "--version" || args[0] == "version") {
    io.out << "topicwire " << TOPICWIRE_VERSION << "\n";
    return kExitOk;
  }
  const Command* command = FindCommand(args[0]);
  if (command == nullptr) {
    io.err << "topicwire: unknown command '" << args[0] << "'\n\n" << TopLevelUsage();
    return kExitUsage;
  }
  absl::StatusOr<ParsedArgs> parsed =
      ParseArgs(command->spec, std::vector<std::string>(args.begin() + 1, args.end()));
  if (!parsed.ok()) {
    io.err << parsed.status().message() << "\n";
    return kExitUsage;
  }
  if (parsed->help()) {
    io.out << Usage(command->spec);
    return kExitOk;
  }
  return command->run(*parsed, io);
}

}  // namespace topicwire::cli
