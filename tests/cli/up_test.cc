// `topicwire up` with stand-in stage binaries (shell scripts that record their start and wait),
// so supervision, restart and ordered shutdown are tested without the real stages.
#include "cli/up.h"

#include <sys/stat.h>

#include <fstream>
#include <future>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/shutdown.h"
#include "tests/testing/prelude.h"

namespace topicwire::cli {
namespace {

using namespace ::topicwire::testing::prelude;

TEST(UpPlanTest, StagesGetTheArchitecturePorts) {
  UpOptions options{.data_dir = "/d", .workers = 2, .base_port = 9000};
  std::vector<topology::StageCommand> plans = PlanStages(options, "/bin-dir");
  ASSERT_EQ(plans.size(), 4u);
  EXPECT_EQ(plans[0].name, "ingest");
  EXPECT_EQ(plans[0].argv[0], "/bin-dir/ingest");
  EXPECT_THAT(plans[0].argv, Contains("--publish_endpoint=tcp://127.0.0.1:9000"));
  EXPECT_THAT(plans[0].argv, Contains("--work_endpoint=tcp://127.0.0.1:9003"));
  EXPECT_THAT(plans[0].argv, Contains("--commit_endpoint=tcp://127.0.0.1:9005"));
  EXPECT_THAT(plans[0].argv, Contains("--journal=/d/ingest/journal.db"));
  EXPECT_THAT(plans[0].argv, Contains("--http_listen=127.0.0.1:9006"));
  EXPECT_EQ(plans[1].name, "sink");
  EXPECT_THAT(plans[1].argv, Contains("--input_endpoint=tcp://127.0.0.1:9004"));
  EXPECT_THAT(plans[1].argv, Contains("--stream_endpoint=tcp://127.0.0.1:9001"));
  EXPECT_THAT(plans[1].argv, Contains("--history_endpoint=tcp://127.0.0.1:9002"));
  EXPECT_THAT(plans[1].argv, Contains("--commit_endpoint=tcp://127.0.0.1:9005"));
  EXPECT_THAT(plans[1].argv, Contains("--store=/d/sink/store.db"));
  EXPECT_THAT(plans[1].argv, Contains("--http_listen=127.0.0.1:9007"));
  EXPECT_EQ(plans[3].name, "classify-1");
  EXPECT_THAT(plans[3].argv, Contains("--work_endpoint=tcp://127.0.0.1:9003"));
  EXPECT_THAT(plans[3].argv, Contains("--sink_endpoint=tcp://127.0.0.1:9004"));
  EXPECT_THAT(plans[3].argv, Contains("--http_listen=127.0.0.1:9011"));
  EXPECT_THAT(plans[0].argv, Contains("--admin_endpoint=tcp://127.0.0.1:9009"));
}

TEST(UpPlanTest, WildcardBindConnectsThroughLoopback) {
  UpOptions options{.bind_host = "0.0.0.0", .taxonomy = "/t.textproto", .http = false};
  std::vector<topology::StageCommand> plans = PlanStages(options, "/b");
  EXPECT_THAT(plans[0].argv, Contains("--publish_endpoint=tcp://0.0.0.0:7400"));
  EXPECT_THAT(plans[1].argv, Contains("--stream_endpoint=tcp://0.0.0.0:7401"));
  // The internal hops stay on loopback: only the stages use them.
  EXPECT_THAT(plans[0].argv, Contains("--work_endpoint=tcp://127.0.0.1:7403"));
  EXPECT_THAT(plans[0].argv, Contains("--commit_endpoint=tcp://127.0.0.1:7405"));
  EXPECT_THAT(plans[1].argv, Contains("--input_endpoint=tcp://127.0.0.1:7404"));
  EXPECT_THAT(plans[1].argv, Contains("--commit_endpoint=tcp://127.0.0.1:7405"));
  EXPECT_THAT(plans[2].argv, Contains("--work_endpoint=tcp://127.0.0.1:7403"));
  EXPECT_THAT(plans[2].argv, Contains("--taxonomy=/t.textproto"));
  for (const topology::StageCommand& plan : plans) {
    for (const std::string& arg : plan.argv) EXPECT_FALSE(absl::StartsWith(arg, "--http_listen"));
  }
  EXPECT_THAT(DescribeEndpoints(options), HasSubstr("publish    tcp://127.0.0.1:7400"));
}

TEST(UpPlanTest, CurveDirSecuresEveryStage) {
  UpOptions options{.workers = 1, .curve_dir = "/k"};
  std::vector<topology::StageCommand> plans = PlanStages(options, "/b");
  EXPECT_THAT(plans[0].argv, Contains("--curve_secret_key_file=/k/ingest.key"));
  EXPECT_THAT(plans[0].argv, Contains("--curve_stage_allow=/k/ingest-stages.allow"));
  EXPECT_THAT(plans[0].argv, Contains("--curve_admin_allow=/k/admins.allow"));
  EXPECT_THAT(plans[1].argv, Contains("--curve_ingest_server_key=/k/ingest.pub"));
  EXPECT_THAT(plans[1].argv, Contains("--curve_stage_allow=/k/sink-stages.allow"));
  EXPECT_THAT(plans[2].argv, Contains("--curve_secret_key_file=/k/classify.key"));
  EXPECT_THAT(plans[2].argv, Contains("--curve_sink_server_key=/k/sink.pub"));
  EXPECT_THAT(DescribeEndpoints(options),
              HasSubstr("(topicwire publish --to tcp://127.0.0.1:7400 --curve-server-key "
                        "/k/ingest.pub --curve-key /k/client)"));
}

TEST(UpTest, CurveDirGetsTheMissingKeysAndKeepsWhatExists) {
  const std::string dir = topicwire::testing::MakeTempDir() + "/keys";
  ASSERT_THAT(PrepareCurveDir(dir), IsOk());
  struct stat info {};
  ASSERT_EQ(stat(dir.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700);
  const std::string client_pub = ReadFile(dir + "/client.pub");
  const std::string classify_pub = ReadFile(dir + "/classify.pub");
  EXPECT_THAT(ReadFile(dir + "/clients.allow"),
              HasSubstr(client_pub.substr(client_pub.find("public-key"))));
  EXPECT_THAT(ReadFile(dir + "/sink-stages.allow"),
              HasSubstr(classify_pub.substr(classify_pub.find("public-key"))));
  EXPECT_THAT(ReadFile(dir + "/sink-stages.allow"), Not(HasSubstr("# client")));
  // An operator's edits survive the next `up`.
  std::ofstream(dir + "/clients.allow", std::ios::app) << "# edited\n";
  const std::string ingest_key = ReadFile(dir + "/ingest.key");
  ASSERT_THAT(PrepareCurveDir(dir), IsOk());
  EXPECT_THAT(ReadFile(dir + "/clients.allow"), HasSubstr("# edited"));
  EXPECT_EQ(ReadFile(dir + "/ingest.key"), ingest_key);
}

TEST(UpTest, MissingBinariesAreReported) {
  UpOptions options{.data_dir = topicwire::testing::MakeTempDir(), .bin_dir = "/nonexistent"};
  std::ostringstream out;
  EXPECT_THAT(RunUp(options, -1, out),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/ingest")));
}

void WriteScript(const std::string& path, const std::string& body) {
  std::ofstream(path) << "#!/bin/sh\n" << body;
  chmod(path.c_str(), 0755);
}

int CountLines(const std::string& path, const std::string& prefix) {
  std::ifstream file(path);
  int count = 0;
  for (std::string line; std::getline(file, line);) count += absl::StartsWith(line, prefix);
  return count;
}

TEST(UpTest, RestartsADeadStageAndStopsInOrder) {
  const std::string bin = topicwire::testing::MakeTempDir();
  const std::string data = topicwire::testing::MakeTempDir();
  const std::string events = bin + "/events";
  // Each stand-in logs "start NAME" and, on SIGTERM, "stop NAME". classify dies on its first
  // run so that `up` must restart it.
  for (const char* name : {"ingest", "sink", "classify"}) {
    std::string body = absl::StrCat("echo start ", name, " >> ", events, "\n");
    if (std::string(name) == "classify") {
      absl::StrAppend(&body, "if [ ! -e ", bin, "/died ]; then touch ", bin, "/died; exit 3; fi\n");
    }
    absl::StrAppend(&body, "trap 'echo stop ", name, " >> ", events,
                    "; exit 0' TERM\nwhile :; do sleep 0.05; done\n");
    WriteScript(absl::StrCat(bin, "/", name), body);
  }
  absl::StatusOr<Shutdown> shutdown = Shutdown::Manual();
  ASSERT_THAT(shutdown, IsOk());
  UpOptions options{.data_dir = data,
                    .workers = 1,
                    .base_port = topicwire::testing::FreeLoopbackPortRange(9),
                    .bin_dir = bin,
                    .restart_backoff = absl::Milliseconds(20)};
  std::ostringstream out;
  auto up = std::async(std::launch::async, [&] { return RunUp(options, shutdown->fd(), out); });
  EXPECT_TRUE(
      WaitFor([&] { return CountLines(events, "start classify") >= 2; }, absl::Seconds(10)));
  EXPECT_TRUE(WaitFor([&] { return CountLines(events, "start sink") == 1; }, absl::Seconds(10)));
  shutdown->Trigger();
  ASSERT_EQ(up.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_THAT(up.get(), IsOk());
  EXPECT_THAT(out.str(), HasSubstr(absl::StrCat("tcp://127.0.0.1:", options.base_port)));

  std::vector<std::string> stops;
  std::ifstream file(events);
  for (std::string line; std::getline(file, line);) {
    if (absl::StartsWith(line, "stop ")) stops.push_back(line.substr(5));
  }
  EXPECT_EQ(stops, (std::vector<std::string>{"ingest", "classify", "sink"}));
  EXPECT_EQ(CountLines(events, "start ingest"), 1);
  std::ifstream log(data + "/logs/ingest.log");
  EXPECT_TRUE(log.good()) << "each stage logs to DATA/logs/<name>.log";
}

}  // namespace
}  // namespace topicwire::cli
