// The topicwire CLI as a user runs it: `topicwire up` running the real stages, and
// `topicwire subscribe` / `topicwire publish` as separate processes.
#include <signal.h>
#include <sys/wait.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "ingest/journal.h"
#include "proto/article.pb.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/articles.h"
#include "tests/testing/prelude.h"

namespace topicwire::e2e {
namespace {

using namespace ::topicwire::testing::prelude;

// Runs `topicwire ARGS...` with stdout and stderr in separate files.
absl::StatusOr<Subprocess> StartCli(const std::vector<std::string>& args, const std::string& out,
                                    const std::string& err) {
  std::string command = "exec " + testing::BinDir() + "/topicwire";
  for (const std::string& arg : args) absl::StrAppend(&command, " '", arg, "'");
  absl::StrAppend(&command, " >'", out, "' 2>'", err, "'");
  return Subprocess::Start({"/bin/sh", "-c", command});
}

int ExitCode(absl::StatusOr<int> status) {
  if (!status.ok()) return -1;
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
}

TEST(CliE2eTest, UpPublishSubscribeShowsTheFeedsTags) {
  const std::string dir = testing::MakeTempDir();
  const int port = RandomFreePortRange(12);
  const std::string stream = absl::StrCat("tcp://127.0.0.1:", port + 1);
  absl::StatusOr<Subprocess> up =
      StartCli({"up", "--data-dir", dir + "/data", "--base-port", absl::StrCat(port), "--bin-dir",
                testing::BinDir(), "--http=false"},
               dir + "/up.out", dir + "/up.err");
  ASSERT_THAT(up, IsOk());

  const std::map<std::string, std::vector<std::string>> expected = ExpectedFeedTopics();
  size_t expected_copies = 0;
  for (const auto& [id, topics] : expected) expected_copies += std::max<size_t>(1, topics.size());
  // --since 0 replays what was stored before the subscription was live, so the subscriber
  // cannot miss the start of the feed however slowly it connects.
  absl::StatusOr<Subprocess> subscribe =
      StartCli({"subscribe", "--from", stream, "--since", "0", "--count",
                absl::StrCat(expected_copies), "--timeout", "60"},
               dir + "/sub.out", dir + "/sub.err");
  ASSERT_THAT(subscribe, IsOk());

  absl::StatusOr<Subprocess> publish =
      StartCli({"publish", "--to", absl::StrCat("tcp://127.0.0.1:", port), "--timeout", "60",
                testing::SourceDir() + "/samples/feed.jsonl"},
               dir + "/pub.out", dir + "/pub.err");
  ASSERT_THAT(publish, IsOk());
  EXPECT_EQ(ExitCode(publish->Wait(absl::Seconds(90))), 0) << ReadFile(dir + "/pub.err");
  EXPECT_THAT(ReadFile(dir + "/pub.out"),
              HasSubstr(absl::StrCat("accepted ", expected.size(), ", duplicate 0, rejected 0")));

  EXPECT_EQ(ExitCode(subscribe->Wait(absl::Seconds(90))), 0) << ReadFile(dir + "/sub.err");
  std::map<std::string, std::vector<std::string>> tags_by_id;
  size_t lines = 0;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(dir + "/sub.out"), '\n', absl::SkipEmpty())) {
    ++lines;
    v1::TaggedArticle copy;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &copy).ok())
        << "stdout must hold only TaggedArticle JSON lines: " << line;
    std::vector<std::string> tags;
    for (const v1::Tag& tag : copy.tags()) tags.push_back(tag.topic());
    std::sort(tags.begin(), tags.end());
    tags_by_id[copy.article().id()] = tags;
  }
  EXPECT_EQ(lines, expected_copies);
  for (const auto& [id, topics] : expected) EXPECT_EQ(tags_by_id[id], topics) << id;

  // Publishing the feed again: every article is a duplicate, exit 0.
  absl::StatusOr<Subprocess> again =
      StartCli({"publish", "--to", absl::StrCat("tcp://127.0.0.1:", port),
                testing::SourceDir() + "/samples/feed.jsonl"},
               dir + "/again.out", dir + "/again.err");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(ExitCode(again->Wait(absl::Seconds(30))), 0);
  EXPECT_THAT(ReadFile(dir + "/again.out"),
              HasSubstr(absl::StrCat("accepted 0, duplicate ", expected.size())));

  // SIGTERM stops the stages in order and `up` exits 0.
  up->Signal(SIGTERM);
  EXPECT_EQ(ExitCode(up->Wait(absl::Seconds(40))), 0) << ReadFile(dir + "/up.err");
  const std::string up_log = ReadFile(dir + "/up.err");
  EXPECT_THAT(up_log, HasSubstr("all stages stopped"));
  EXPECT_THAT(ReadFile(dir + "/up.out"), HasSubstr(stream));
}

TEST(CliE2eTest, UpRestartsAKilledStage) {
  const std::string dir = testing::MakeTempDir();
  const int port = RandomFreePortRange(12);
  absl::StatusOr<Subprocess> up =
      StartCli({"up", "--data-dir", dir + "/data", "--base-port", absl::StrCat(port), "--bin-dir",
                testing::BinDir(), "--http=false", "--workers=1"},
               dir + "/up.out", dir + "/up.err");
  ASSERT_THAT(up, IsOk());
  // Find sink's pid in up's log, kill it, and wait for the restart.
  int sink_pid = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string log = ReadFile(dir + "/up.err");
        const size_t at = log.find("started sink (pid ");
        if (at == std::string::npos) return false;
        sink_pid = std::atoi(log.c_str() + at + 18);
        return sink_pid > 0;
      },
      absl::Seconds(20)));
  ASSERT_EQ(kill(sink_pid, SIGKILL), 0);
  EXPECT_TRUE(WaitFor(
      [&] {
        const std::string log = ReadFile(dir + "/up.err");
        return log.find("sink killed by signal 9") != std::string::npos &&
               log.find("started sink", log.find("started sink") + 1) != std::string::npos;
      },
      absl::Seconds(20)))
      << ReadFile(dir + "/up.err");
  up->Signal(SIGTERM);
  EXPECT_EQ(ExitCode(up->Wait(absl::Seconds(40))), 0) << ReadFile(dir + "/up.err");
}

TEST(CliE2eTest, PublishWithoutIngestFailsFastWithAHint) {
  const std::string dir = testing::MakeTempDir();
  const int port = testing::FreeLoopbackPort();
  absl::StatusOr<Subprocess> publish =
      StartCli({"publish", "--to", absl::StrCat("tcp://127.0.0.1:", port), "--timeout", "1",
                testing::SourceDir() + "/samples/feed.jsonl"},
               dir + "/pub.out", dir + "/pub.err");
  ASSERT_THAT(publish, IsOk());
  EXPECT_EQ(ExitCode(publish->Wait(absl::Seconds(20))), 2);
  EXPECT_THAT(ReadFile(dir + "/pub.err"),
              HasSubstr(absl::StrCat("no reply from tcp://127.0.0.1:", port,
                                     " within 1s: is ingest running? (topicwire up)")));
}

// The real topicwire against the real ingest holding 3,000 dead letters: list pages through
// them all, --limit stops early, and replay --all puts every one back, a page per request.
TEST(CliE2eTest, DeadLettersListAndReplayPageThroughTheRealIngest) {
  constexpr int kDeadLetters = 3000;
  Pipeline pipeline(1);
  {
    absl::StatusOr<std::unique_ptr<ingest::SqliteJournal>> journal =
        ingest::SqliteJournal::Open(pipeline.dir() + "/ingest/journal.db", {.fsync = false});
    ASSERT_THAT(journal, IsOk());
    std::vector<ingest::NewRecord> records;
    for (int i = 1; i <= kDeadLetters; ++i) {
      const v1::Article article =
          testing::MakeArticle(absl::StrCat("dead-", i), absl::StrCat("Dead ", i));
      records.push_back({article.id(), article.SerializeAsString()});
    }
    absl::StatusOr<std::vector<uint64_t>> seqs = (*journal)->Append(records, absl::Now());
    ASSERT_THAT(seqs, IsOk());
    for (const uint64_t seq : *seqs) {
      ASSERT_THAT((*journal)->MoveToDeadLetters(seq, {.attempts = 5,
                                                      .first_attempt = absl::Now(),
                                                      .last_attempt = absl::Now(),
                                                      .reason = "boom"}),
                  IsOk());
    }
  }
  pipeline.StartIngest();
  const std::string admin =
      absl::StrCat("tcp://127.0.0.1:", pipeline.port(topology::Endpoint::kAdmin));
  const std::string dir = pipeline.dir();

  ASSERT_EQ(
      RunCli({"deadletters", "list", "--admin", admin, "--page-size", "700", "--timeout", "20"},
             dir + "/list.log"),
      0)
      << ReadFile(dir + "/list.log") << pipeline.Logs();
  const std::string listed = ReadFile(dir + "/list.log");
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(listed, '\n')) {
    if (absl::StartsWith(line, "dead-")) ++lines;
  }
  EXPECT_EQ(lines, kDeadLetters);
  EXPECT_THAT(listed, HasSubstr("dead-1\t5 attempts"));
  EXPECT_THAT(listed, HasSubstr("Dead 3000\t(boom)"));
  EXPECT_THAT(listed, HasSubstr("3000 dead letter(s)\n"));

  ASSERT_EQ(RunCli({"deadletters", "list", "--admin", admin, "--limit", "10"}, dir + "/limit.log"),
            0);
  EXPECT_THAT(ReadFile(dir + "/limit.log"), HasSubstr("10 dead letter(s) of 3000"));

  ASSERT_EQ(RunCli({"deadletters", "replay", "--all", "--admin", admin, "--page-size", "700",
                    "--timeout", "20"},
                   dir + "/replay.log"),
            0)
      << ReadFile(dir + "/replay.log");
  EXPECT_THAT(ReadFile(dir + "/replay.log"), HasSubstr("replayed 3000\n"));
  ASSERT_EQ(RunCli({"deadletters", "list", "--admin", admin}, dir + "/after.log"), 0);
  EXPECT_THAT(ReadFile(dir + "/after.log"), HasSubstr("0 dead letter(s)"));
}

}  // namespace
}  // namespace topicwire::e2e
