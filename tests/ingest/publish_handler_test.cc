// GroupCommitBudget: what one group commit may read, envelope frames included.
#include "ingest/publish_handler.h"

#include <string>

#include "tests/testing/prelude.h"

namespace topicwire::ingest {
namespace {

zmq::message_t Frame(size_t bytes) { return zmq::message_t(std::string(bytes, 'x')); }

TEST(GroupCommitBudgetTest, EnvelopeFramesCountLikeThePayload) {
  GroupCommitBudget budget(/*max_requests=*/512, /*max_bytes=*/1 << 20);
  // A client's own routing frames (a DEALER may put any frames before its request): large
  // envelope, small request. They are held until the reply and sent back with it.
  Frames message;
  message.push_back(Frame(255));        // routing id
  message.push_back(Frame(600 << 10));  // envelope frames the client chose
  message.push_back(Frame(600 << 10));
  message.push_back(Frame(100));  // the PublishRequest
  EXPECT_FALSE(budget.Full());
  budget.Add(message);
  EXPECT_EQ(budget.bytes(), 255u + 2 * (600u << 10) + 100u);
  EXPECT_TRUE(budget.Full()) << "1.2 MB of envelope is over a 1 MiB budget";
}

TEST(GroupCommitBudgetTest, PayloadBytesAndRequestCountBoundTheBatch) {
  GroupCommitBudget by_bytes(/*max_requests=*/512, /*max_bytes=*/1000);
  Frames small;
  small.push_back(Frame(5));
  small.push_back(Frame(400));
  by_bytes.Add(small);
  EXPECT_FALSE(by_bytes.Full());
  Frames more;
  more.push_back(Frame(5));
  more.push_back(Frame(600));
  by_bytes.Add(more);
  EXPECT_TRUE(by_bytes.Full());

  GroupCommitBudget by_count(/*max_requests=*/2);
  Frames tiny;
  tiny.push_back(Frame(5));
  tiny.push_back(Frame(10));
  by_count.Add(tiny);
  EXPECT_FALSE(by_count.Full());
  Frames tiny_again;
  tiny_again.push_back(Frame(5));
  tiny_again.push_back(Frame(10));
  by_count.Add(tiny_again);
  EXPECT_TRUE(by_count.Full());
}

}  // namespace
}  // namespace topicwire::ingest
