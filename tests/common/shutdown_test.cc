#include "common/shutdown.h"

#include "tests/testing/prelude.h"

namespace topicwire {
namespace {

using namespace ::topicwire::testing::prelude;

TEST(ShutdownTest, ManualFiresOnlyWhenTriggered) {
  absl::StatusOr<Shutdown> shutdown = Shutdown::Manual();
  ASSERT_THAT(shutdown, IsOk());
  EXPECT_FALSE(shutdown->Requested());
  shutdown->Trigger();
  EXPECT_TRUE(shutdown->Requested());
  EXPECT_TRUE(shutdown->Requested()) << "stays readable for every loop that polls it";
}

TEST(ShutdownTest, MovedFromKeepsTheFd) {
  absl::StatusOr<Shutdown> shutdown = Shutdown::Manual();
  ASSERT_THAT(shutdown, IsOk());
  Shutdown moved = std::move(*shutdown);
  EXPECT_GE(moved.fd(), 0);
  moved.Trigger();
  EXPECT_TRUE(moved.Requested());
}

}  // namespace
}  // namespace topicwire
