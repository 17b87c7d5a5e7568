// The real sink binary's probes.
#include "tests/sink/sink_binary.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/prelude.h"

namespace topicwire::sink {
namespace {

using namespace ::topicwire::testing::prelude;
using testing::SinkBinary;

// k8s takes an unready sink out of its Service; while ingest restarts, subscribers and history
// clients must still reach sink.
TEST(SinkBinaryTest, ReadyWhileIngestIsDown) {
  const std::string nobody =
      absl::StrCat("tcp://127.0.0.1:", ::topicwire::testing::FreeLoopbackPort());
  absl::StatusOr<std::unique_ptr<SinkBinary>> sink = SinkBinary::Start(MakeTempDir(), nobody);
  ASSERT_THAT(sink, IsOk());
  std::string last;
  EXPECT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<std::string> readyz = (*sink)->HttpGet("/readyz");
        last = readyz.ok() ? *readyz : readyz.status().ToString();
        return readyz.ok() && absl::StrContains(readyz->substr(0, readyz->find('\n')), " 200 ");
      },
      absl::Seconds(5)))
      << last << "\n"
      << (*sink)->LogTail();
}

}  // namespace
}  // namespace topicwire::sink
