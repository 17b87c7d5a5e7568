#include "cli/command_line.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace topicwire::cli {
namespace {

const FlagSpec* FindFlag(const CommandSpec& spec, const std::string& name) {
  for (const FlagSpec& flag : spec.flags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

absl::Status BadValue(const std::string& command, const std::string& name, const std::string& value,
                      const std::string& expected) {
  return absl::InvalidArgumentError(
      absl::StrCat("topicwire ", command, ": --", name, "=", value, " is not ", expected));
}

}  // namespace

std::string ParsedArgs::Get(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  if (auto it = defaults_.find(name); it != defaults_.end()) return it->second;
  return "";
}

absl::StatusOr<int64_t> ParsedArgs::GetInt(const std::string& name) const {
  const std::string text = Get(name);
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) return BadValue(command_, name, text, "a whole number");
  return value;
}

absl::StatusOr<double> ParsedArgs::GetDouble(const std::string& name) const {
  const std::string text = Get(name);
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !std::isfinite(value)) {
    return BadValue(command_, name, text, "a number");
  }
  return value;
}

absl::StatusOr<bool> ParsedArgs::GetBool(const std::string& name) const {
  const std::string text = Get(name);
  bool value = false;
  if (!absl::SimpleAtob(text, &value)) return BadValue(command_, name, text, "true or false");
  return value;
}

absl::StatusOr<absl::Duration> ParsedArgs::GetSeconds(const std::string& name) const {
  absl::StatusOr<double> seconds = GetDouble(name);
  if (!seconds.ok()) return seconds.status();
  if (*seconds < 0) return BadValue(command_, name, Get(name), "a number of seconds >= 0");
  return absl::Seconds(*seconds);
}

absl::StatusOr<ParsedArgs> ParseArgs(const CommandSpec& spec,
                                     const std::vector<std::string>& args) {
  ParsedArgs parsed;
  parsed.command_ = spec.name;
  parsed.words_ = args;
  for (const FlagSpec& flag : spec.flags) parsed.defaults_[flag.name] = flag.default_value;
  bool flags_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_ended || arg == "-" || arg.size() < 2 || arg[0] != '-') {
      parsed.positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    if (arg == "-h" || arg == "--help" || arg == "-help") {
      parsed.help_ = true;
      return parsed;
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      value = body.substr(eq + 1);
      body.resize(eq);
      has_value = true;
    }
    const std::string name = absl::StrReplaceAll(body, {{"_", "-"}});
    const FlagSpec* flag = FindFlag(spec, name);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("topicwire ", spec.name, ": unknown flag ",
                                                     arg, " (see topicwire ", spec.name,
                                                     " --help)"));
    }
    if (!has_value) {
      if (flag->is_bool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("topicwire ", spec.name, ": flag --", name,
                                                       " needs a value (", flag->value_name, ")"));
      }
    }
    parsed.values_[name] = value;
  }
  return parsed;
}

std::string Usage(const CommandSpec& spec) {
  std::string text = absl::StrCat("usage: topicwire ", spec.name, " [flags] ", spec.arguments,
                                  "\n\n", spec.summary, "\n\nflags:\n");
  for (const FlagSpec& flag : spec.flags) {
    std::string left = absl::StrCat("  --", flag.name);
    if (!flag.is_bool) absl::StrAppend(&left, " ", flag.value_name);
    const size_t pad = left.size() < 28 ? 28 - left.size() : 1;
    absl::StrAppend(&text, left, std::string(pad, ' '), flag.help,
                    " (default: ", flag.default_value.empty() ? "\"\"" : flag.default_value, ")\n");
  }
  absl::StrAppend(&text, "  --help                    Show this help and exit\n");
  return text;
}

}  // namespace topicwire::cli
