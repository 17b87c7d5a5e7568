// GroupCommitBudget: what one group commit may read, envelope frames included; PublishHandler:
// how many replies one commit builds.
#include "ingest/publish_handler.h"

#include <string>
#include <vector>

#include "common/time_util.h"
#include "ingest/dispatcher.h"
#include "ingest/journal.h"
#include "prometheus/registry.h"
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

TEST(PublishHandlerTest, OneCommitStopsAtTheRequestWhoseReplyReachesTheReplyBound) {
  InMemoryJournal journal;
  prometheus::Registry registry;
  IngestMetrics metrics(registry);
  Dispatcher dispatcher(DispatcherOptions{}, journal, metrics, MonotonicNow());
  PublishHandler handler(PublishHandlerOptions{}, journal, dispatcher, metrics);
  std::vector<std::string> payloads;
  for (int i = 0; i < 5; ++i) {
    v1::PublishRequest request;
    for (int j = 0; j < 100; ++j) {
      v1::Article* article = request.add_articles();
      article->set_id(absl::StrCat("a", i, "-", j));
      article->set_title("a headline");
    }
    payloads.push_back(request.SerializeAsString());
  }
  std::vector<PublishRequest> requests(payloads.size());
  for (size_t i = 0; i < requests.size(); ++i) requests[i].payload = payloads[i];

  // Each reply holds 100 acks, far more than 1 byte: one request per commit.
  EXPECT_EQ(handler.Handle(absl::MakeSpan(requests), /*max_reply_bytes=*/1), 1u);
  EXPECT_EQ(requests[0].reply.acks_size(), 100);
  EXPECT_EQ(requests[1].reply.acks_size(), 0) << "built before the first reply was sent";
  const size_t one_reply = requests[0].reply.ByteSizeLong();
  // Stops at the request that brings the replies to the bound, not before it.
  EXPECT_EQ(handler.Handle(absl::MakeSpan(requests).subspan(1), one_reply + 1), 2u);
  EXPECT_EQ(handler.Handle(absl::MakeSpan(requests).subspan(3)), 2u) << "the default bound";
  for (const PublishRequest& request : requests) {
    ASSERT_EQ(request.reply.acks_size(), 100);
    EXPECT_EQ(request.reply.acks(0).status(), v1::PublishAck::ACCEPTED);
  }
  EXPECT_EQ(dispatcher.pending(), 500u);
}

}  // namespace
}  // namespace topicwire::ingest
