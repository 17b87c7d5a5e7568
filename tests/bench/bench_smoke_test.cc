// Smoke tests of the benchmarks (label `bench`): they run and report sane figures. Not timed:
// the machine running the tests may be busy, so no figure is compared with a target here.
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "proto/bench.pb.h"
#include "tests/testing/prelude.h"

namespace topicwire {
namespace {

using namespace ::topicwire::testing::prelude;

struct CommandResult {
  int exit_status = -1;
  std::string out;
};

// Runs a shell command and returns its exit status and standard output (stderr goes to a file
// in the test's temporary directory, printed on failure by the caller).
CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t read;
  while ((read = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, read);
  result.exit_status = pclose(pipe);
  return result;
}

// Runs `topicwire bench ARGS --json` on free ports with its data in a fresh directory; stderr
// goes to `log` there.
CommandResult RunBench(const std::string& args, std::string& log) {
  const std::string dir = MakeTempDir();
  // bench uses ports P..P+11 for its stages (up's layout with two workers).
  const int base_port = FreeLoopbackPortRange(16);
  log = dir + "/bench.log";
  return RunCommand(absl::StrCat(BinDir(), "/topicwire bench ", args, " --json --base-port ",
                                 base_port, " --data-dir ", dir, "/data 2>", log));
}

TEST(BenchSmokeTest, JsonReportHasEveryRequiredFigure) {
  std::string log;
  const CommandResult run = RunBench("--count 500 --rate 2000 --workers 1", log);
  ASSERT_EQ(run.exit_status, 0) << ReadFile(log);

  // Parse the JSON as a generic object first: the keys named in the issue must be there.
  for (const char* key :
       {"\"articles_per_s\"", "\"passthrough_articles_per_s\"", "\"ratio\"", "\"p50_ms\"",
        "\"p99_ms\"", "\"p999_ms\"", "\"peak_rss_mb\"", "\"mix\"", "\"tags_per_article\""}) {
    EXPECT_NE(run.out.find(key), std::string::npos) << key << " missing from " << run.out;
  }
  v1::BenchReport report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(run.out, &report).ok()) << run.out;
  EXPECT_EQ(report.received(), 500);
  // The default mix is news prose: most articles have no tag or one (the dev set: 0.84).
  EXPECT_EQ(report.mix(), "news");
  EXPECT_GT(report.tags_per_article(), 0.4);
  EXPECT_LT(report.tags_per_article(), 1.5);
  EXPECT_GE(report.copies_per_article(), 1);
  EXPECT_GT(report.bytes_per_copy(), 3000);
  EXPECT_GT(report.articles_per_s(), 0);
  EXPECT_GT(report.passthrough_articles_per_s(), 0);
  EXPECT_GT(report.ratio(), 0);
  EXPECT_GT(report.p50_ms(), 0);
  EXPECT_GE(report.p99_ms(), report.p50_ms());
  EXPECT_GE(report.p999_ms(), report.p99_ms());
  ASSERT_GE(report.stages_size(), 3) << "ingest, one worker, sink";
  for (const v1::StageUsage& stage : report.stages()) {
    EXPECT_GT(stage.peak_rss_mb(), 0) << stage.name();
    EXPECT_GT(stage.cpu_s(), 0) << stage.name();
  }
  ASSERT_GE(report.latency_size(), 1);
  for (const v1::LatencyRun& latency : report.latency()) {
    EXPECT_GT(latency.rate_per_s(), 0);
    EXPECT_GT(latency.p99_ms(), 0);
  }
}

TEST(BenchSmokeTest, DenseMixIsPublishedWhenAsked) {
  std::string log;
  const CommandResult run =
      RunBench("--mix dense --count 200 --rate 2000 --workers 1 --passthrough=false", log);
  ASSERT_EQ(run.exit_status, 0) << ReadFile(log);
  v1::BenchReport report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(run.out, &report).ok()) << run.out;
  EXPECT_EQ(report.received(), 200);
  EXPECT_EQ(report.mix(), "dense");
  // Technology words only: about six tags per article, so sink publishes as many copies.
  EXPECT_GT(report.tags_per_article(), 4);
  EXPECT_GT(report.copies_per_article(), 4);
}

TEST(BenchSmokeTest, UnknownMixIsRefusedWithTheChoices) {
  const CommandResult run =
      RunCommand(absl::StrCat(BinDir(), "/topicwire bench --mix sparse --count 100 2>&1"));
  EXPECT_NE(run.exit_status, 0);
  EXPECT_NE(run.out.find("news"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("dense"), std::string::npos) << run.out;
}

TEST(BenchSmokeTest, MicroBenchmarksRunAndPrintTheTaggingRatio) {
  const CommandResult run =
      RunCommand(absl::StrCat(BinDir(), "/topicwire_micro_bench --benchmark_min_time=0.01 2>&1"));
  ASSERT_EQ(run.exit_status, 0) << run.out;
  for (const char* name :
       {"BM_TagArticle/news", "BM_TagArticle/dense", "BM_RawVectorscanScan/news",
        "BM_RawVectorscanScan/dense", "tags_per_article", "BM_EncodeTaggedArticle",
        "BM_DecodeTaggedArticle", "BM_JournalAppend/32", "BM_StoreInsert/32",
        "raw Vectorscan scan of the same text, news mix", "scan of the same text, dense mix"}) {
    EXPECT_NE(run.out.find(name), std::string::npos) << name << " missing from " << run.out;
  }
  EXPECT_EQ(run.out.find("ERROR"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace topicwire
