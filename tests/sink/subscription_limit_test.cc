// SubscriptionLimit: counts per address over its connections, starts again when cut or gone.
#include "sink/subscription_limit.h"

#include "tests/testing/prelude.h"

namespace topicwire::sink {
namespace {

using namespace ::topicwire::testing::prelude;

TEST(SubscriptionLimitTest, AddressOverItsLimitIsToBeCutOnEveryConnection) {
  SubscriptionLimit limit(3);
  limit.Accepted(7, "10.0.0.2");
  limit.Accepted(8, "10.0.0.2");
  limit.Accepted(9, "10.0.0.3");
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limit.Subscribed("10.0.0.2"));
  EXPECT_FALSE(limit.Subscribed("10.0.0.3")) << "another address has a count of its own";
  EXPECT_TRUE(limit.Subscribed("10.0.0.2"));
  EXPECT_THAT(limit.Connections("10.0.0.2"), UnorderedElementsAre(7, 8));
  EXPECT_THAT(limit.Connections("10.0.0.3"), ElementsAre(9));
  // Cut: the count starts again, so a client that reconnects and subscribes again is cut again
  // only once it is over the limit again.
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limit.Subscribed("10.0.0.2"));
  EXPECT_TRUE(limit.Subscribed("10.0.0.2"));
}

TEST(SubscriptionLimitTest, AddressWithoutConnectionsIsForgotten) {
  SubscriptionLimit limit(2);
  limit.Accepted(7, "10.0.0.2");
  EXPECT_FALSE(limit.Subscribed("10.0.0.2"));
  EXPECT_FALSE(limit.Subscribed("10.0.0.2"));
  limit.Closed(7);
  EXPECT_EQ(limit.addresses(), 0u);
  EXPECT_FALSE(limit.Subscribed("10.0.0.2")) << "no connection: nothing held, nothing counted";
  EXPECT_EQ(limit.addresses(), 0u);
  limit.Accepted(7, "10.0.0.4");  // the fd number, reused for another client
  limit.Accepted(9, "10.0.0.2");  // the old client again: its count starts from zero
  EXPECT_FALSE(limit.Subscribed("10.0.0.2"));
  EXPECT_FALSE(limit.Subscribed("10.0.0.2"));
  EXPECT_TRUE(limit.Subscribed("10.0.0.2"));
  EXPECT_THAT(limit.Connections("10.0.0.2"), ElementsAre(9));
  EXPECT_THAT(limit.Connections("10.0.0.4"), ElementsAre(7));
}

TEST(SubscriptionLimitTest, ZeroMeansNoLimit) {
  SubscriptionLimit limit(0);
  limit.Accepted(7, "10.0.0.2");
  for (int i = 0; i < 10'000; ++i) ASSERT_FALSE(limit.Subscribed("10.0.0.2"));
  EXPECT_EQ(limit.addresses(), 1u);
}

}  // namespace
}  // namespace topicwire::sink
