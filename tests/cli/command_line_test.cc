#include "cli/command_line.h"

#include <sstream>

#include "cli/commands.h"
#include "tests/testing/prelude.h"

namespace topicwire::cli {
namespace {

using namespace ::topicwire::testing::prelude;

const CommandSpec kSpec = {.name = "demo",
                           .arguments = "[FILE...]",
                           .brief = "For tests",
                           .summary = "A command for tests.",
                           .flags = {{"to", "ENDPOINT", "tcp://127.0.0.1:7400", "Where to send"},
                                     {"count", "N", "5", "How many"},
                                     {"data-dir", "DIR", "data", "Where data lives"},
                                     {"json", "", "false", "JSON output", true}}};

TEST(CommandLineTest, DefaultsApplyWhenFlagsAreAbsent) {
  absl::StatusOr<ParsedArgs> args = ParseArgs(kSpec, {});
  ASSERT_THAT(args, IsOk());
  EXPECT_EQ(args->Get("to"), "tcp://127.0.0.1:7400");
  EXPECT_EQ(*args->GetInt("count"), 5);
  EXPECT_FALSE(*args->GetBool("json"));
  EXPECT_FALSE(args->Has("to"));
}

TEST(CommandLineTest, ParsesBothSpellingsAndPositionals) {
  absl::StatusOr<ParsedArgs> args =
      ParseArgs(kSpec, {"a.jsonl", "--to", "tcp://x:1", "--count=7", "--json", "-", "--data_dir",
                        "/tmp/d", "--", "--not-a-flag"});
  ASSERT_THAT(args, IsOk());
  EXPECT_EQ(args->Get("to"), "tcp://x:1");
  EXPECT_EQ(*args->GetInt("count"), 7);
  EXPECT_TRUE(*args->GetBool("json"));
  EXPECT_EQ(args->Get("data-dir"), "/tmp/d");
  EXPECT_THAT(args->positional(), ElementsAre("a.jsonl", "-", "--not-a-flag"));
}

TEST(CommandLineTest, UnknownFlagIsAnErrorThatPointsAtHelp) {
  EXPECT_THAT(ParseArgs(kSpec, {"--bogus=1"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown flag --bogus=1 (see topicwire demo --help)")));
}

TEST(CommandLineTest, MissingValueIsAnError) {
  EXPECT_THAT(ParseArgs(kSpec, {"--to"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--to needs a value")));
}

TEST(CommandLineTest, BadNumbersNameTheFlag) {
  absl::StatusOr<ParsedArgs> args = ParseArgs(kSpec, {"--count=many"});
  ASSERT_THAT(args, IsOk());
  EXPECT_THAT(args->GetInt("count"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--count=many")));
}

TEST(CommandLineTest, UsageListsEveryFlagWithItsDefault) {
  const std::string usage = Usage(kSpec);
  EXPECT_THAT(usage, HasSubstr("usage: topicwire demo [flags] [FILE...]"));
  EXPECT_THAT(usage, HasSubstr("--to ENDPOINT"));
  EXPECT_THAT(usage, HasSubstr("(default: tcp://127.0.0.1:7400)"));
  EXPECT_THAT(usage, HasSubstr("--json"));
  EXPECT_THAT(usage, HasSubstr("(default: false)"));
}

int RunCapturing(const std::vector<std::string>& args, std::string* out, std::string* err) {
  std::istringstream in;
  std::ostringstream out_stream, err_stream;
  const int code = RunCli(args, {.in = in, .out = out_stream, .err = err_stream});
  *out = out_stream.str();
  *err = err_stream.str();
  return code;
}

TEST(CliTest, EverySubcommandHasHelpListingItsFlags) {
  for (const Command& command : AllCommands()) {
    const CommandSpec& spec = command.spec;
    std::string out, err;
    EXPECT_EQ(RunCapturing({spec.name, "--help"}, &out, &err), kExitOk) << spec.name;
    for (const FlagSpec& flag : spec.flags) {
      EXPECT_THAT(out, HasSubstr("--" + flag.name)) << spec.name;
    }
  }
}

TEST(CliTest, TopLevelHelpListsCommands) {
  std::string out, err;
  EXPECT_EQ(RunCapturing({"--help"}, &out, &err), kExitOk);
  for (const char* command : {"up", "publish", "subscribe", "tag", "eval"}) {
    EXPECT_THAT(out, HasSubstr(command));
  }
  EXPECT_EQ(RunCapturing({}, &out, &err), kExitUsage);
}

TEST(CliTest, UsageErrorsExitTwo) {
  std::string out, err;
  EXPECT_EQ(RunCapturing({"frobnicate"}, &out, &err), kExitUsage);
  EXPECT_THAT(err, HasSubstr("unknown command 'frobnicate'"));
  EXPECT_EQ(RunCapturing({"publish", "--batch=0", "x.jsonl"}, &out, &err), kExitUsage);
  EXPECT_EQ(RunCapturing({"subscribe", "--format=xml"}, &out, &err), kExitUsage);
  EXPECT_THAT(err, HasSubstr("use json or text"));
  EXPECT_EQ(RunCapturing({"subscribe", "--since=yesterday"}, &out, &err), kExitUsage);
  EXPECT_THAT(err, HasSubstr("RFC 3339"));
  EXPECT_EQ(RunCapturing({"up", "--workers=0"}, &out, &err), kExitUsage);
}

TEST(CliTest, PublishOfMissingFileNamesIt) {
  std::string out, err;
  EXPECT_EQ(RunCapturing({"publish", "/nonexistent/feed.jsonl"}, &out, &err), kExitUsage);
  EXPECT_THAT(err, HasSubstr("cannot read /nonexistent/feed.jsonl"));
}

}  // namespace
}  // namespace topicwire::cli
