// The Clone pattern's order in `topicwire subscribe --since`: the live subscription must exist
// before history is read, or whatever sink publishes while the history is being read is lost.
// (SubscribeTest publishes its live messages only after the subscription arrived, so it cannot
// tell the two orders apart.)
#include <future>
#include <sstream>
#include <thread>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cli/subscribe.h"
#include "common/zmq_channel.h"
#include "proto/article.pb.h"
#include "proto/history.pb.h"
#include "tests/testing/prelude.h"
#include "tests/testing/zmq_test_util.h"

namespace topicwire::cli {
namespace {

using namespace ::topicwire::testing::prelude;

v1::TaggedArticle Copy(uint64_t stream_sequence, const std::string& id) {
  v1::TaggedArticle tagged;
  tagged.mutable_article()->set_id(id);
  tagged.mutable_article()->set_title("Title of " + id);
  tagged.add_tags()->set_topic("ai");
  tagged.set_stream("ai");
  tagged.set_stream_sequence(stream_sequence);
  tagged.set_sequence(stream_sequence);
  return tagged;
}

TEST(SubscribeCloneTest, MessagePublishedWhileHistoryIsReadIsPrintedAfterTheHistory) {
  zmq::context_t context(1);
  zmq::socket_t xpub(context, zmq::socket_type::xpub);  // sink's stream socket
  zmq::socket_t history(context, zmq::socket_type::router);
  ASSERT_THAT(ConfigureSocket(xpub, 0), IsOk());
  ASSERT_THAT(ConfigureSocket(history, 0), IsOk());
  const std::string stream_endpoint = testing::BindLoopback(xpub);
  const std::string history_endpoint = testing::BindLoopback(history);

  // Plays sink: on the history request, waits (with a deadline) for the live subscription,
  // publishes ai#2 live, and only then answers with the history as it was read: ai#1.
  bool subscribed_before_history_answered = false;
  std::thread sink([&] {
    Frames request;
    if (!RecvFrames(history, request).ok()) return;
    std::vector<zmq::pollitem_t> items = {{xpub.handle(), 0, ZMQ_POLLIN, 0}};
    if (topicwire::Poll(items, absl::Seconds(5)).ok() && (items[0].revents & ZMQ_POLLIN)) {
      Frames subscription;
      subscribed_before_history_answered = RecvFrames(xpub, subscription).ok();
    }
    const v1::TaggedArticle live = Copy(2, "published-while-history-was-read");
    const std::string topic = "ai";
    Frames message;
    message.emplace_back(topic.data(), topic.size());
    message.push_back(ToFrame(live));
    (void)SendFrames(xpub, message);
    v1::HistoryReply reply;
    *reply.add_messages() = Copy(1, "from-history");
    reply.set_last_sequence(1);
    reply.set_head_sequence(1);
    reply.set_complete(true);
    Frames answer;
    answer.push_back(std::move(request.front()));
    answer.push_back(ToFrame(reply));
    (void)SendFrames(history, answer);
  });

  std::ostringstream out, err;
  SubscribeOptions options{.endpoint = stream_endpoint,
                           .count = 2,
                           .idle_timeout = absl::Seconds(3),  // only reached when ai#2 is lost
                           .since = HistoryStart{},
                           .history_endpoint = history_endpoint};
  absl::StatusOr<SubscribeResult> result = Subscribe(context, options, -1, out, err);
  sink.join();
  ASSERT_THAT(result, IsOk());
  EXPECT_TRUE(subscribed_before_history_answered)
      << "history was requested before the live subscription reached the publisher";
  std::vector<std::string> lines = absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << "stdout:\n" << out.str() << "stderr:\n" << err.str();
  EXPECT_THAT(lines[0], HasSubstr("from-history"));
  EXPECT_THAT(lines[1], HasSubstr("published-while-history-was-read"));
  EXPECT_EQ(result->missed, 0);
}

}  // namespace
}  // namespace topicwire::cli
