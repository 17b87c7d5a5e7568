// The supervisor with real child processes (/bin/sh, /bin/sleep): restart with backoff, kill -9
// on demand, ordered stop.
#include "common/supervisor.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/testing/prelude.h"

namespace topicwire {
namespace {

using namespace ::topicwire::testing::prelude;

std::string ReadAll(const std::string& path) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

// Polls `supervisor` until `condition` holds, collecting the exits it reports.
bool PollUntil(Supervisor& supervisor, std::vector<ChildExit>& exits,
               const std::function<bool()>& condition) {
  return testing::WaitFor(
      [&] {
        for (ChildExit& exit : supervisor.Poll()) exits.push_back(std::move(exit));
        return condition();
      },
      absl::Seconds(10));
}

TEST(SupervisorTest, ChildOutputGoesToItsLog) {
  const std::string dir = MakeTempDir();
  Supervisor supervisor({.log_dir = dir + "/logs"});
  ASSERT_THAT(supervisor.Start("hello", {"/bin/sh", "-c", "echo hello; echo oops >&2"}), IsOk());
  ASSERT_THAT(supervisor.process("hello")->Wait(absl::Seconds(10)), IsOk());
  EXPECT_EQ(supervisor.LogPath("hello"), dir + "/logs/hello.log");
  EXPECT_EQ(ReadAll(dir + "/logs/hello.log"), "hello\noops\n");
}

TEST(SupervisorTest, WithoutRestartAnExitIsReportedOnceAndTheChildStaysDown) {
  Supervisor supervisor({.log_dir = MakeTempDir()});
  ASSERT_THAT(supervisor.Start("fails", {"/bin/sh", "-c", "exit 3"}), IsOk());
  std::vector<ChildExit> exits;
  ASSERT_TRUE(PollUntil(supervisor, exits, [&] { return !exits.empty(); }));
  ASSERT_THAT(exits, SizeIs(1));
  EXPECT_EQ(exits[0].ToString(), "fails: exited with 3");
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_THAT(supervisor.Poll(), SizeIs(0));
  EXPECT_FALSE(supervisor.Running("fails"));
}

TEST(SupervisorTest, RestartsADeadChildWithExponentialBackoff) {
  const std::string dir = MakeTempDir();
  Supervisor supervisor({.log_dir = dir,
                         .restart = true,
                         .restart_backoff = absl::Milliseconds(100),
                         .max_restart_backoff = absl::Milliseconds(400)});
  const std::string starts = dir + "/starts";
  ASSERT_THAT(supervisor.Start("flaky", {"/bin/sh", "-c", "date +%s%N >> " + starts + "; exit 3"}),
              IsOk());
  std::vector<ChildExit> exits;
  ASSERT_TRUE(PollUntil(supervisor, exits, [&] { return exits.size() >= 4; }));
  // Starts are 100, 200, 400 and again 400 ms apart (at least: polling adds a little).
  std::vector<int64_t> nanos;
  for (absl::string_view line : absl::StrSplit(ReadAll(starts), '\n', absl::SkipEmpty())) {
    int64_t value = 0;
    ASSERT_TRUE(absl::SimpleAtoi(line, &value)) << line;
    nanos.push_back(value);
  }
  ASSERT_GE(nanos.size(), 4u);
  const auto gap_ms = [&](size_t i) { return (nanos[i + 1] - nanos[i]) / 1'000'000; };
  EXPECT_GE(gap_ms(0), 100);
  EXPECT_GE(gap_ms(1), 200);
  EXPECT_GE(gap_ms(2), 400);
  EXPECT_LT(gap_ms(0), gap_ms(2));
  for (const ChildExit& exit : exits) EXPECT_EQ(exit.ToString(), "flaky: exited with 3");
}

TEST(SupervisorTest, BackoffStartsOverAfterALongRun) {
  Supervisor supervisor({.log_dir = MakeTempDir(),
                         .restart = true,
                         .restart_backoff = absl::Milliseconds(10),
                         .max_restart_backoff = absl::Seconds(60),
                         .backoff_reset_after = absl::ZeroDuration()});
  ASSERT_THAT(supervisor.Start("flaky", {"/bin/sh", "-c", "exit 1"}), IsOk());
  std::vector<ChildExit> exits;
  // Every run counts as long, so the backoff never grows past 10 ms: many restarts quickly.
  EXPECT_TRUE(PollUntil(supervisor, exits, [&] { return exits.size() >= 20; }));
}

TEST(SupervisorTest, KillIsKillNineAndTheChildStaysDownUntilStarted) {
  Supervisor supervisor(
      {.log_dir = MakeTempDir(), .restart = true, .restart_backoff = absl::ZeroDuration()});
  ASSERT_THAT(supervisor.Start("sleeper", {"/bin/sleep", "30"}), IsOk());
  EXPECT_THAT(supervisor.Start("sleeper", {"/bin/sleep", "30"}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  const pid_t first = supervisor.process("sleeper")->pid();
  absl::StatusOr<int> killed = supervisor.Kill("sleeper");
  ASSERT_THAT(killed, IsOk());
  EXPECT_TRUE(WIFSIGNALED(*killed) && WTERMSIG(*killed) == SIGKILL);
  EXPECT_THAT(supervisor.Poll(), SizeIs(0)) << "a kill on demand is not an unexpected exit";
  EXPECT_FALSE(supervisor.Running("sleeper"));
  ASSERT_THAT(supervisor.Start("sleeper"), IsOk());
  EXPECT_TRUE(supervisor.Running("sleeper"));
  EXPECT_NE(supervisor.process("sleeper")->pid(), first);
  EXPECT_THAT(supervisor.Kill("nobody"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(supervisor.Start("nobody"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(SupervisorTest, StopsGroupsInOrderAndKillsWhatIgnoresSigterm) {
  const std::string dir = MakeTempDir();
  const std::string events = dir + "/events";
  Supervisor supervisor({.log_dir = dir});
  const auto polite = [&](const std::string& name) {
    return std::vector<std::string>{"/bin/sh", "-c",
                                    absl::StrCat("trap 'echo ", name, " >> ", events,
                                                 "; exit 0' TERM; while :; do sleep 0.05; "
                                                 "done")};
  };
  ASSERT_THAT(supervisor.Start("first", polite("first")), IsOk());
  ASSERT_THAT(supervisor.Start("second-a", polite("second")), IsOk());
  ASSERT_THAT(supervisor.Start("second-b", polite("second")), IsOk());
  ASSERT_THAT(supervisor.Start("stubborn", {"/bin/sh", "-c",
                                            "trap '' TERM; while :; do sleep "
                                            "0.05; done"}),
              IsOk());
  ASSERT_THAT(supervisor.Start("already-gone", {"/bin/sh", "-c", "exit 4"}), IsOk());
  ASSERT_THAT(supervisor.Start("untouched", {"/bin/sleep", "30"}), IsOk());
  ASSERT_TRUE(WaitFor([&] { return !supervisor.Running("already-gone"); }, absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(200));  // the traps are set

  const std::vector<StopResult> results = supervisor.StopInOrder(
      {{"first"}, {"second-a", "second-b"}, {"stubborn", "already-gone"}}, absl::Milliseconds(500));
  EXPECT_EQ(ReadAll(events), "first\nsecond\nsecond\n");
  ASSERT_THAT(results, SizeIs(5));
  for (const StopResult& result : results) {
    if (result.name == "stubborn") {
      EXPECT_FALSE(result.wait_status.has_value()) << "SIGKILLed after the timeout";
    } else if (result.name == "already-gone") {
      EXPECT_TRUE(result.exited_before);
      EXPECT_EQ(DescribeWaitStatus(*result.wait_status), "exited with 4");
    } else {
      ASSERT_TRUE(result.wait_status.has_value()) << result.name;
      EXPECT_EQ(DescribeWaitStatus(*result.wait_status), "exited with 0") << result.name;
    }
  }
  EXPECT_FALSE(supervisor.Running("stubborn"));
  EXPECT_TRUE(supervisor.Running("untouched"));
  EXPECT_THAT(supervisor.Names(), ElementsAre("already-gone", "first", "second-a", "second-b",
                                              "stubborn", "untouched"));
}

TEST(SupervisorTest, AChildThatCannotStartIsRetriedWithRestartOn) {
  const std::string dir = MakeTempDir();
  Supervisor supervisor(
      {.log_dir = dir, .restart = true, .restart_backoff = absl::Milliseconds(10)});
  EXPECT_THAT(supervisor.Start("missing", {dir + "/not-yet"}), Not(IsOk()));
  std::ofstream(dir + "/not-yet") << "#!/bin/sh\nexec sleep 30\n";
  ASSERT_EQ(chmod((dir + "/not-yet").c_str(), 0755), 0);
  std::vector<ChildExit> exits;
  EXPECT_TRUE(PollUntil(supervisor, exits, [&] { return supervisor.Running("missing"); }));
}

TEST(SupervisorTest, DestructionKillsWhatStillRuns) {
  pid_t pid = 0;
  {
    Supervisor supervisor({.log_dir = MakeTempDir()});
    ASSERT_THAT(supervisor.Start("sleeper", {"/bin/sleep", "30"}), IsOk());
    pid = supervisor.process("sleeper")->pid();
  }
  EXPECT_NE(kill(pid, 0), 0) << "pid " << pid << " outlived its supervisor";
}

TEST(ExecutableDirTest, IsTheTestBinarysDirectory) {
  absl::StatusOr<std::string> dir = ExecutableDir();
  ASSERT_THAT(dir, IsOk());
  EXPECT_THAT(*dir, Not(HasSubstr("/proc")));
  EXPECT_FALSE(dir->empty());
}

}  // namespace
}  // namespace topicwire
