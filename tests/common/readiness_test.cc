// Readiness: conditions, reasons, the detail line, and concurrent readers.
#include "common/readiness.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/prelude.h"

namespace topicwire {
namespace {

using namespace ::topicwire::testing::prelude;

enum Condition : size_t { kStoreOpen, kConnected };

TEST(ReadinessTest, UnreadyUntilEveryConditionIsMetAndNamesEachUnmetOne) {
  Readiness readiness({"store not open", "no connection to ingest"});
  EXPECT_THAT(readiness.Ready(),
              StatusIs(absl::StatusCode::kUnavailable, "store not open; no connection to ingest"));
  readiness.Set(kStoreOpen, true);
  EXPECT_TRUE(readiness.IsMet(kStoreOpen));
  EXPECT_FALSE(readiness.IsMet(kConnected));
  EXPECT_THAT(readiness.Ready(),
              StatusIs(absl::StatusCode::kUnavailable, "no connection to ingest"));
  readiness.Set(kConnected, true);
  EXPECT_THAT(readiness.Ready(), IsOk());
  readiness.Set(kConnected, false);
  EXPECT_THAT(readiness.Ready(),
              StatusIs(absl::StatusCode::kUnavailable, "no connection to ingest"));
}

TEST(ReadinessTest, SetUnmetSaysTheNewReasonUntilSetAgain) {
  Readiness readiness({"starting"});
  readiness.Set(0, true);
  readiness.SetUnmet(0, "stopping");
  EXPECT_THAT(readiness.Ready(), StatusIs(absl::StatusCode::kUnavailable, "stopping"));
  readiness.Set(0, false);  // back to the reason given at construction
  EXPECT_THAT(readiness.Ready(), StatusIs(absl::StatusCode::kUnavailable, "starting"));
}

TEST(ReadinessTest, DetailIsKeptReadyOrNot) {
  Readiness readiness({"starting"});
  EXPECT_THAT(readiness.detail(), IsEmpty());
  readiness.SetDetail("taxonomy v1");
  EXPECT_EQ(readiness.detail(), "taxonomy v1");
  readiness.Set(0, true);
  EXPECT_EQ(readiness.detail(), "taxonomy v1");
}

TEST(ReadinessTest, ReadersOnOtherThreadsSeeConsistentAnswers) {
  Readiness readiness({"a", "b"});
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) {
      const absl::Status status = readiness.Ready();
      EXPECT_TRUE(status.ok() || absl::IsUnavailable(status));
      (void)readiness.detail();
    }
  });
  for (int i = 0; i < 1000; ++i) {
    readiness.Set(i % 2, i % 3 == 0);
    readiness.SetDetail(std::to_string(i));
  }
  stop = true;
  reader.join();
}

}  // namespace
}  // namespace topicwire
