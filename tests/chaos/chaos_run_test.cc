// The bounded chaos run CI does: the real binaries, kill -9 of every kind of stage while 5,000
// articles are published, and nothing accepted lost or duplicated.
#include <sys/wait.h>

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "chaos/chaos_report.pb.h"
#include "common/subprocess.h"
#include "google/protobuf/util/json_util.h"
#include "tests/testing/prelude.h"

namespace topicwire::chaos {
namespace {

using namespace ::topicwire::testing::prelude;

TEST(ChaosRunTest, NothingAcceptedIsLostOrDuplicatedWhileStagesAreKilled) {
  const std::string dir = testing::MakeTempDir();
  const std::string report_path = dir + "/report.json";
  const std::string log_path = dir + "/chaos.log";
  // 5,000 articles at 250/s: about 20 s of publishing and 20 kills. The seed fixes the order of
  // victims (ingest, sink and workers all die early on), not the timing.
  absl::StatusOr<Subprocess> chaos = Subprocess::Start(
      {testing::BinDir() + "/topicwire-chaos", "--articles=5000", "--rate=250",
       "--kill_interval=1s", "--seed=42", "--timeout=100s", "--bin_dir=" + testing::BinDir(),
       "--data_dir=" + dir + "/run", "--report_file=" + report_path},
      log_path);
  ASSERT_TRUE(chaos.ok()) << chaos.status();
  absl::StatusOr<int> status = chaos->Wait(absl::Seconds(130));
  ASSERT_TRUE(status.ok()) << status.status() << "\n" << ReadFile(log_path);
  const std::string log = ReadFile(log_path);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << DescribeWaitStatus(*status) << "\n"
      << log;

  ChaosReport report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(ReadFile(report_path), &report).ok())
      << log;
  EXPECT_TRUE(report.passed()) << log;
  EXPECT_EQ(report.publishing().accepted(), 5000u);
  EXPECT_EQ(report.verification().lost(), 0u);
  EXPECT_EQ(report.verification().duplicated(), 0u);
  EXPECT_EQ(report.verification().stored(), 5000u);
  for (const char* kind : {"ingest", "classify", "sink"}) {
    EXPECT_GE(report.chaos().kills().count(kind) ? report.chaos().kills().at(kind) : 0, 1u)
        << "no " << kind << " was killed\n"
        << log;
  }
  if (!HasFailure()) std::filesystem::remove_all(dir);  // a failing run keeps its logs
  std::cout << log.substr(
      log.rfind("topicwire-chaos:") == std::string::npos ? 0 : log.rfind("topicwire-chaos:"));
}

TEST(ChaosRunTest, MissingBinariesExitWithTwo) {
  const std::string dir = testing::MakeTempDir();
  absl::StatusOr<Subprocess> chaos =
      Subprocess::Start({testing::BinDir() + "/topicwire-chaos", "--bin_dir=" + dir + "/nowhere"},
                        dir + "/chaos.log");
  ASSERT_TRUE(chaos.ok()) << chaos.status();
  absl::StatusOr<int> status = chaos->Wait(absl::Seconds(20));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << DescribeWaitStatus(*status);
  EXPECT_NE(ReadFile(dir + "/chaos.log").find("no ingest binary"), std::string::npos);
}

TEST(ChaosRunTest, HelpListsEveryFlagWithItsDefault) {
  const std::string dir = testing::MakeTempDir();
  absl::StatusOr<Subprocess> chaos =
      Subprocess::Start({testing::BinDir() + "/topicwire-chaos", "--help"}, dir + "/help.txt");
  ASSERT_TRUE(chaos.ok()) << chaos.status();
  ASSERT_TRUE(chaos->Wait(absl::Seconds(20)).ok());
  const std::string help = ReadFile(dir + "/help.txt");
  for (const char* flag :
       {"--articles", "--workers", "--kill_interval", "--seed", "--data_dir", "--base_port",
        "--bin_dir", "--article_bytes", "--redelivery_timeout", "--timeout", "--json", "--rate"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag << " missing from\n" << help;
  }
  EXPECT_NE(help.find("default: 100000"), std::string::npos) << help;
}

}  // namespace
}  // namespace topicwire::chaos
