// The real classify binary: SIGHUP reloads the taxonomy (and does not kill the process, as
// SIGHUP's default action would), a bad file is refused, and SIGTERM still stops it cleanly.
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/subprocess.h"
#include "tests/testing/prelude.h"

namespace topicwire::classify {
namespace {

using namespace ::topicwire::testing::prelude;

void WriteAtomically(const std::string& path, const std::string& text) {
  std::ofstream(path + ".tmp") << text;
  ASSERT_EQ(std::rename((path + ".tmp").c_str(), path.c_str()), 0);
}

TEST(ClassifyBinaryReloadTest, SighupReloadsRefusesABadFileAndSigtermStillStops) {
  const std::string dir = topicwire::testing::MakeTempDir();
  const std::string taxonomy = dir + "/taxonomy.textproto";
  const std::string log = dir + "/classify.log";
  WriteAtomically(taxonomy, "version: \"bin-1\" topics { id: \"q\" terms { text: \"quantum\" } }");
  const int ports = topicwire::testing::FreeLoopbackPortRange(2);
  absl::StatusOr<Subprocess> classify = Subprocess::Start(
      {topicwire::testing::BinDir() + "/classify", "--taxonomy", taxonomy,
       "--taxonomy_check_interval=0", absl::StrCat("--work_endpoint=tcp://127.0.0.1:", ports),
       absl::StrCat("--sink_endpoint=tcp://127.0.0.1:", ports + 1)},
      log);
  ASSERT_THAT(classify, IsOk());
  ASSERT_TRUE(
      WaitFor([&] { return absl::StrContains(ReadFile(log), "taking work"); }, absl::Seconds(10)))
      << ReadFile(log);

  WriteAtomically(taxonomy, "version: \"bin-2\" topics { id: \"q\" terms { text: \"qubit\" } }");
  classify->Signal(SIGHUP);
  EXPECT_TRUE(WaitFor([&] { return absl::StrContains(ReadFile(log), "version bin-2 replaces"); },
                      absl::Seconds(10)))
      << ReadFile(log);

  WriteAtomically(taxonomy, "version: \"bin-3\" topics { id: \"q\" terms { regex: \"(\" } }");
  classify->Signal(SIGHUP);
  EXPECT_TRUE(
      WaitFor([&] { return absl::StrContains(ReadFile(log), "still serving version bin-2"); },
              absl::Seconds(10)))
      << ReadFile(log);
  EXPECT_TRUE(classify->running());

  classify->Signal(SIGTERM);
  absl::StatusOr<int> status = classify->Wait(absl::Seconds(10));
  ASSERT_THAT(status, IsOk());
  EXPECT_TRUE(WIFEXITED(*status)) << ReadFile(log);
  EXPECT_EQ(WEXITSTATUS(*status), 0) << ReadFile(log);
}

}  // namespace
}  // namespace topicwire::classify
