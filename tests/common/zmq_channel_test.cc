#include "common/zmq_channel.h"

#include "proto/article.pb.h"
#include "tests/testing/prelude.h"

namespace topicwire {
namespace {

using namespace ::topicwire::testing::prelude;

TEST(ZmqChannelTest, ProtoRoundTripOverLoopback) {
  zmq::context_t context;
  zmq::socket_t server(context, zmq::socket_type::router);
  zmq::socket_t client(context, zmq::socket_type::dealer);
  ASSERT_THAT(ConfigureSocket(server, 0), IsOk());
  ASSERT_THAT(ConfigureSocket(client, 0), IsOk());
  ASSERT_THAT(Bind(server, "tcp://127.0.0.1:*"), IsOk());
  absl::StatusOr<std::string> endpoint = LastEndpoint(server);
  ASSERT_THAT(endpoint, IsOk());
  ASSERT_THAT(Connect(client, *endpoint), IsOk());

  v1::PublishRequest request;
  request.add_articles()->set_title("Quantum chip");
  ASSERT_THAT(SendProto(client, request), IsOk());

  Frames frames;
  absl::StatusOr<bool> got = RecvFrames(server, frames);
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(*got);
  ASSERT_EQ(frames.size(), 2u) << "routing id + payload";
  v1::PublishRequest parsed;
  ASSERT_THAT(ParseFrame(frames[1], parsed), IsOk());
  EXPECT_EQ(parsed.articles(0).title(), "Quantum chip");
}

// sink publishes each copy this way: the stored article's bytes, then its stream fields.
TEST(ZmqChannelTest, FrameAfterPrefixHoldsThePrefixThenTheMessageAndParsesMerged) {
  v1::TaggedArticle stored;
  stored.mutable_article()->set_id("a1");
  stored.mutable_article()->set_body("Quantum chip");
  stored.set_sequence(7);
  const std::string prefix = stored.SerializeAsString();
  v1::TaggedArticle stream_fields;
  stream_fields.set_stream("quantum");
  stream_fields.set_stream_sequence(3);

  const zmq::message_t frame = ToFrameAfter(prefix, stream_fields);
  EXPECT_EQ(frame.to_string(), prefix + stream_fields.SerializeAsString());
  v1::TaggedArticle parsed;
  ASSERT_THAT(ParseFrame(frame, parsed), IsOk());
  EXPECT_EQ(parsed.article().body(), "Quantum chip");
  EXPECT_EQ(parsed.sequence(), 7u);
  EXPECT_EQ(parsed.stream(), "quantum");
  EXPECT_EQ(parsed.stream_sequence(), 3u);

  EXPECT_EQ(ToFrameAfter("", stream_fields).to_string(), stream_fields.SerializeAsString());
}

TEST(ZmqChannelTest, GarbageFrameIsInvalidArgumentNamingTheType) {
  zmq::message_t frame(std::string("\xff\xff\xff not a proto"));
  v1::PublishRequest parsed;
  EXPECT_THAT(ParseFrame(frame, parsed),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("topicwire.v1.PublishRequest")));
}

TEST(ZmqChannelTest, NonBlockingReceiveOnEmptySocketReturnsFalse) {
  zmq::context_t context;
  zmq::socket_t pull(context, zmq::socket_type::pull);
  ASSERT_THAT(Bind(pull, "inproc://empty"), IsOk());
  Frames frames;
  absl::StatusOr<bool> got = RecvFrames(pull, frames, /*dont_wait=*/true);
  ASSERT_THAT(got, IsOk());
  EXPECT_FALSE(*got);
}

TEST(ZmqChannelTest, BindFailureNamesTheEndpoint) {
  zmq::context_t context;
  zmq::socket_t a(context, zmq::socket_type::pull);
  zmq::socket_t b(context, zmq::socket_type::pull);
  ASSERT_THAT(Bind(a, "tcp://127.0.0.1:*"), IsOk());
  const std::string endpoint = *LastEndpoint(a);
  EXPECT_THAT(Bind(b, endpoint),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::HasSubstr(endpoint)));
}

}  // namespace
}  // namespace topicwire
