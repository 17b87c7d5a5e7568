#include "common/subprocess.h"

#include <signal.h>
#include <sys/wait.h>

#include "tests/testing/prelude.h"

namespace topicwire {
namespace {

using namespace ::topicwire::testing::prelude;

TEST(SubprocessTest, ReportsExitCode) {
  absl::StatusOr<Subprocess> child = Subprocess::Start({"sh", "-c", "exit 3"});
  ASSERT_THAT(child, IsOk());
  absl::StatusOr<int> status = child->Wait(absl::Seconds(10));
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(DescribeWaitStatus(*status), "exited with 3");
}

TEST(SubprocessTest, SignalStopsAndWaitTimesOut) {
  absl::StatusOr<Subprocess> child = Subprocess::Start({"sleep", "30"});
  ASSERT_THAT(child, IsOk());
  EXPECT_THAT(child->Wait(absl::Milliseconds(20)), StatusIs(absl::StatusCode::kDeadlineExceeded));
  child->Signal(SIGKILL);
  absl::StatusOr<int> status = child->Wait(absl::Seconds(10));
  ASSERT_THAT(status, IsOk());
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_FALSE(child->running());
}

TEST(SubprocessTest, MissingProgramIsAnError) {
  EXPECT_THAT(Subprocess::Start({"/nonexistent/program"}),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace topicwire
