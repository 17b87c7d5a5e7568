// Per-subcommand command lines for the `topicwire` CLI. Abseil flags are process-wide (one set
// per binary, one default each), while every subcommand needs its own flags, defaults and --help,
// so the CLI declares each subcommand's flags in a CommandSpec and parses them here.
#ifndef TOPICWIRE_CLI_COMMAND_LINE_H_
#define TOPICWIRE_CLI_COMMAND_LINE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace topicwire::cli {

// One flag of a subcommand, written `--name VALUE`, `--name=VALUE` or, for booleans, `--name`.
struct FlagSpec {
  std::string name;           // without dashes, words separated by '-' ("data-dir")
  std::string value_name;     // shown in --help ("DIR"); empty for booleans
  std::string default_value;  // as text; shown in --help
  std::string help;           // one sentence
  bool is_bool = false;
};

// A subcommand: its name, a one-line synopsis of its positional arguments, what it does, and
// its flags.
struct CommandSpec {
  std::string name;
  std::string arguments;  // e.g. "[FILE... | -]"
  std::string brief;      // one line for `topicwire --help`
  std::string summary;
  std::vector<FlagSpec> flags{};
};

// The result of parsing one subcommand's arguments.
class ParsedArgs {
 public:
  // True when --help or -h was given; nothing else is checked then.
  bool help() const { return help_; }
  // Arguments that are not flags, in order ("-" included).
  const std::vector<std::string>& positional() const { return positional_; }
  // Every word that was parsed, as given (to hand the command line on to another program).
  const std::vector<std::string>& words() const { return words_; }
  // True when the flag was given on the command line.
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The flag's value, or its default. REQUIRES: `name` is in the CommandSpec.
  std::string Get(const std::string& name) const;
  // Typed accessors; kInvalidArgument naming the flag when the text does not parse.
  absl::StatusOr<int64_t> GetInt(const std::string& name) const;
  absl::StatusOr<double> GetDouble(const std::string& name) const;
  absl::StatusOr<bool> GetBool(const std::string& name) const;
  // A number of seconds ("10", "0.5"); kInvalidArgument when negative.
  absl::StatusOr<absl::Duration> GetSeconds(const std::string& name) const;

 private:
  friend absl::StatusOr<ParsedArgs> ParseArgs(const CommandSpec& spec,
                                              const std::vector<std::string>& args);
  std::string command_{};
  std::map<std::string, std::string> defaults_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_{};
  std::vector<std::string> words_{};
  bool help_ = false;
};

// Parses `args` (the words after the subcommand's name). '_' in flag names is read as '-', so
// `--data_dir` equals `--data-dir`. `--` ends the flags. An unknown flag, or a flag without its
// value, is kInvalidArgument with a message that names it and points at --help.
absl::StatusOr<ParsedArgs> ParseArgs(const CommandSpec& spec, const std::vector<std::string>& args);

// The subcommand's --help text: usage line, summary, and every flag with its default.
std::string Usage(const CommandSpec& spec);

}  // namespace topicwire::cli

#endif  // TOPICWIRE_CLI_COMMAND_LINE_H_
