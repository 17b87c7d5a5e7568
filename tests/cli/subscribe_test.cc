// `topicwire subscribe` against an in-process XPUB (which tells the test when the subscription
// has arrived, so nothing is published before the subscriber listens) and a fake history ROUTER.
#include "cli/subscribe.h"

#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <sstream>
#include <thread>

#include "absl/strings/str_split.h"
#include "common/zmq_channel.h"
#include "google/protobuf/util/json_util.h"
#include "proto/article.pb.h"
#include "proto/history.pb.h"
#include "tests/testing/prelude.h"
#include "tests/testing/zmq_test_util.h"

namespace topicwire::cli {
namespace {

using namespace ::topicwire::testing::prelude;

v1::TaggedArticle Copy(const std::string& stream, uint64_t stream_sequence, uint64_t sequence,
                       const std::string& id) {
  v1::TaggedArticle tagged;
  tagged.mutable_article()->set_id(id);
  tagged.mutable_article()->set_title("Title of " + id);
  if (stream != "untagged") {
    v1::Tag* tag = tagged.add_tags();
    tag->set_topic(stream);
    tag->set_score(3.5);
  }
  tagged.set_stream(stream);
  tagged.set_stream_sequence(stream_sequence);
  tagged.set_sequence(sequence);
  return tagged;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// The gap report a history request carries to sink.
void ExpectGapReported(const v1::HistoryRequest& request, uint64_t first_missing, uint64_t missed) {
  ASSERT_TRUE(request.has_gap());
  EXPECT_EQ(request.gap().stream(), "ai");
  EXPECT_EQ(request.gap().first_missing(), first_missing);
  EXPECT_EQ(request.gap().missed(), missed);
}

// Plays sink's history endpoint: answers `pages` requests, each with what `answer` makes of the
// request and its page number (0, 1, ...), and keeps the requests it was sent.
class FakeHistory {
 public:
  using Answer = std::function<v1::HistoryReply(const v1::HistoryRequest& request, int page)>;

  FakeHistory(zmq::context_t& context, int pages, Answer answer)
      : socket_(context, zmq::socket_type::router) {
    EXPECT_THAT(ConfigureSocket(socket_, 0), IsOk());
    // A request that never comes (the code under test is broken) ends the test instead of
    // hanging it.
    socket_.set(zmq::sockopt::rcvtimeo, 10000);
    endpoint_ = testing::BindLoopback(socket_);
    server_ = std::thread([this, pages, answer = std::move(answer)] {
      for (int page = 0; page < pages; ++page) {
        Frames frames;
        absl::StatusOr<bool> got = RecvFrames(socket_, frames);
        if (!got.ok() || !*got || frames.empty()) return;
        v1::HistoryRequest request;
        (void)ParseFrame(frames.back(), request);
        requests_.push_back(request);
        Frames reply;
        reply.push_back(std::move(frames.front()));
        reply.push_back(ToFrame(answer(request, page)));
        (void)SendFrames(socket_, reply);
      }
    });
  }
  ~FakeHistory() { Join(); }

  const std::string& endpoint() const { return endpoint_; }
  // The requests, once every page was served.
  const std::vector<v1::HistoryRequest>& requests() {
    Join();
    return requests_;
  }

 private:
  void Join() {
    if (server_.joinable()) server_.join();
  }

  zmq::socket_t socket_;
  std::string endpoint_;
  std::vector<v1::HistoryRequest> requests_;
  std::thread server_;
};

class SubscribeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(ConfigureSocket(xpub_, 0), IsOk());
    endpoint_ = testing::BindLoopback(xpub_);
  }

  // Waits until `count` subscription messages reached the XPUB.
  void AwaitSubscriptions(int count) {
    for (int i = 0; i < count; ++i) {
      std::vector<zmq::pollitem_t> items = {{xpub_.handle(), 0, ZMQ_POLLIN, 0}};
      ASSERT_THAT(topicwire::Poll(items, absl::Seconds(10)), IsOk());
      ASSERT_TRUE(items[0].revents & ZMQ_POLLIN) << "no subscription arrived";
      Frames frames;
      ASSERT_THAT(RecvFrames(xpub_, frames), IsOk());
    }
  }

  void Send(const std::string& topic, const v1::TaggedArticle& tagged) {
    Frames frames;
    frames.emplace_back(topic.data(), topic.size());
    frames.push_back(ToFrame(tagged));
    ASSERT_THAT(SendFrames(xpub_, frames), IsOk());
  }

  // Runs Subscribe with `options`, calls `publish` once the subscription has arrived, and
  // returns what Subscribe returned.
  absl::StatusOr<SubscribeResult> SubscribeAndPublish(const SubscribeOptions& options,
                                                      const std::function<void()>& publish) {
    auto result = std::async(std::launch::async,
                             [&] { return Subscribe(context_, options, -1, out_, err_); });
    AwaitSubscriptions(1);
    publish();
    return result.get();
  }

  zmq::context_t context_{1};
  zmq::socket_t xpub_{context_, zmq::socket_type::xpub};
  std::string endpoint_;
  std::ostringstream out_, err_;
};

TEST_F(SubscribeTest, FiltersTopicsExactlyAndStopsAtCount) {
  SubscribeOptions options{.endpoint = endpoint_, .topics = {"ai"}, .count = 2};
  absl::StatusOr<SubscribeResult> got = SubscribeAndPublish(options, [&] {
    Send("ai_ethics", Copy("ai_ethics", 1, 1, "prefix-only"));  // prefix match: must not print
    Send("ai", Copy("ai", 1, 2, "a1"));
    Send("ai", Copy("ai", 2, 3, "a2"));
  });
  ASSERT_THAT(got, IsOk());
  EXPECT_TRUE(got->count_reached);
  EXPECT_EQ(SubscribeExitCode(options, *got), 0);
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 2u);
  v1::TaggedArticle parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[0], &parsed).ok());
  EXPECT_EQ(parsed.article().id(), "a1");
  EXPECT_EQ(parsed.stream(), "ai");
  EXPECT_THAT(out_.str(), Not(HasSubstr("prefix-only")));
  EXPECT_EQ(err_.str(), "");
}

TEST_F(SubscribeTest, ReportsSequenceGapsOnStderr) {
  SubscribeOptions options{
      .endpoint = endpoint_, .count = 3, .format = OutputFormat::kText, .fill_gaps = false};
  absl::StatusOr<SubscribeResult> got = SubscribeAndPublish(options, [&] {
    Send("quantum", Copy("quantum", 1, 1, "q1"));
    Send("quantum", Copy("quantum", 2, 2, "q2"));
    Send("quantum", Copy("quantum", 5, 9, "q5"));
  });
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->missed, 2);
  EXPECT_EQ(got->gaps, 1);
  EXPECT_EQ(got->gap_messages, 2);
  EXPECT_EQ(got->gap_messages_filled, 0);
  EXPECT_THAT(err_.str(), HasSubstr("gap on stream 'quantum': missed 2 message(s)"));
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], "quantum#5 seq=9 [quantum 3.50] q5: Title of q5");
}

TEST_F(SubscribeTest, IdleTimeoutWithoutMessagesExitsOne) {
  SubscribeOptions options{.endpoint = endpoint_, .idle_timeout = absl::Milliseconds(200)};
  absl::StatusOr<SubscribeResult> got = Subscribe(context_, options, -1, out_, err_);
  ASSERT_THAT(got, IsOk());
  EXPECT_TRUE(got->idle_timed_out);
  EXPECT_EQ(SubscribeExitCode(options, *got), 1);
  EXPECT_EQ(SubscribeExitCode(options, SubscribeResult{.printed = 1, .idle_timed_out = true}), 0);
}

TEST_F(SubscribeTest, ReplaysHistoryThenLiveWithoutDuplicates) {
  // A fake history endpoint serving two pages: ai#1 (seq 1), untagged#1 (seq 2) | ai#2 (seq 3).
  FakeHistory history(context_, 2, [](const v1::HistoryRequest& request, int) {
    v1::HistoryReply reply;
    if (request.after_sequence() == 0) {
      *reply.add_messages() = Copy("ai", 1, 1, "h1");
      *reply.add_messages() = Copy("untagged", 1, 2, "h2");
      reply.set_last_sequence(2);
    } else {
      *reply.add_messages() = Copy("ai", 2, 3, "h3");
      reply.set_last_sequence(3);
      reply.set_complete(true);
    }
    reply.set_head_sequence(3);
    return reply;
  });
  SubscribeOptions options{.endpoint = endpoint_,
                           .count = 4,
                           .since = HistoryStart{},
                           .history_endpoint = history.endpoint()};
  absl::StatusOr<SubscribeResult> got = SubscribeAndPublish(options, [&] {
    Send("ai", Copy("ai", 2, 3, "h3"));  // already in history: dropped
    Send("ai", Copy("ai", 3, 4, "live4"));
  });
  ASSERT_THAT(got, IsOk());
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[0], HasSubstr("\"h1\""));
  EXPECT_THAT(lines[2], HasSubstr("\"h3\""));
  EXPECT_THAT(lines[3], HasSubstr("\"live4\""));
  ASSERT_EQ(history.requests().size(), 2u);
  EXPECT_EQ(history.requests()[1].after_sequence(), 2u);
  EXPECT_EQ(err_.str(), "");
}

TEST_F(SubscribeTest, HistoryThatExpiredIsReportedOnStderr) {
  // Retention removed sequences 1 to 4: the store's history starts at sequence 5.
  FakeHistory history(context_, 1, [](const v1::HistoryRequest&, int) {
    v1::HistoryReply reply;
    *reply.add_messages() = Copy("ai", 3, 5, "h5");
    reply.set_first_sequence(5);
    reply.set_last_sequence(5);
    reply.set_head_sequence(5);
    reply.set_complete(true);
    return reply;
  });
  SubscribeOptions options{.endpoint = endpoint_,
                           .count = 2,
                           .since = HistoryStart{},
                           .history_endpoint = history.endpoint()};
  absl::StatusOr<SubscribeResult> got =
      SubscribeAndPublish(options, [&] { Send("ai", Copy("ai", 4, 6, "live6")); });
  ASSERT_THAT(got, IsOk());
  EXPECT_THAT(err_.str(), HasSubstr("history expired from sequence 5: articles 1 to 4"));
  EXPECT_EQ(Lines(out_.str()).size(), 2u);
}

TEST_F(SubscribeTest, GapInTheLiveStreamIsFilledFromHistory) {
  // History holds ai#1 (seq 1) and, by the time the gap is noticed, ai#2 (seq 2) and ai#3
  // (seq 3). The live stream delivers only ai#3: ai#2 must come from a second history read.
  FakeHistory history(context_, 2, [](const v1::HistoryRequest&, int page) {
    v1::HistoryReply reply;
    if (page == 0) {
      *reply.add_messages() = Copy("ai", 1, 1, "h1");
      reply.set_last_sequence(1);
    } else {
      *reply.add_messages() = Copy("ai", 2, 2, "h2");
      *reply.add_messages() = Copy("ai", 3, 3, "h3");
      reply.set_last_sequence(3);
    }
    reply.set_complete(true);
    return reply;
  });
  SubscribeOptions options{.endpoint = endpoint_,
                           .count = 3,
                           .since = HistoryStart{},
                           .history_endpoint = history.endpoint()};
  absl::StatusOr<SubscribeResult> got =
      SubscribeAndPublish(options, [&] { Send("ai", Copy("ai", 3, 3, "h3")); });
  ASSERT_THAT(got, IsOk());
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[1], HasSubstr("\"h2\""));
  EXPECT_THAT(lines[2], HasSubstr("\"h3\""));
  EXPECT_EQ(got->missed, 0);
  EXPECT_EQ(got->gaps, 1);
  EXPECT_EQ(got->gap_messages, 1);  // ai#2: the live stream jumped from #1 to #3
  EXPECT_EQ(got->gap_messages_filled, 1);
  const std::vector<v1::HistoryRequest>& requests = history.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].after_sequence(), 1u);
  ASSERT_EQ(requests[1].topics_size(), 1);
  EXPECT_EQ(requests[1].topics(0), "ai");
  // The hole is reported to sink with the request that fills it (not with the initial replay).
  EXPECT_FALSE(requests[0].has_gap());
  ExpectGapReported(requests[1], 2, 1);
  EXPECT_EQ(GapSummary(*got),
            "topicwire subscribe: 1 gap(s) in the live streams (1 message(s) dropped for this "
            "subscriber), 1 filled from history, 0 not printed\n");
}

TEST_F(SubscribeTest, HoleAtTheEndOfABurstIsFoundOnceTheStreamGoesQuiet) {
  // The live stream delivers ai#1 and then nothing: ai#2 and ai#3 were dropped at the end of the
  // burst, so no later message reveals them. The quiet check asks history and reports the hole.
  FakeHistory history(context_, 2, [](const v1::HistoryRequest&, int page) {
    v1::HistoryReply reply;
    if (page == 0) {
      *reply.add_messages() = Copy("ai", 2, 2, "h2");
      *reply.add_messages() = Copy("ai", 3, 3, "h3");
    }
    reply.set_last_sequence(3);
    reply.set_head_sequence(3);
    reply.set_complete(true);
    return reply;
  });
  SubscribeOptions options{.endpoint = endpoint_,
                           .count = 3,
                           .idle_timeout = absl::Seconds(30),
                           .history_endpoint = history.endpoint()};
  absl::StatusOr<SubscribeResult> got =
      SubscribeAndPublish(options, [&] { Send("ai", Copy("ai", 1, 1, "live1")); });
  ASSERT_THAT(got, IsOk());
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[1], HasSubstr("\"h2\""));
  EXPECT_THAT(lines[2], HasSubstr("\"h3\""));
  EXPECT_EQ(got->gaps, 1);
  EXPECT_EQ(got->gap_messages, 2);
  EXPECT_EQ(got->gap_messages_filled, 2);
  const std::vector<v1::HistoryRequest>& requests = history.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].after_sequence(), 1u);
  EXPECT_FALSE(requests[0].has_gap());  // the check itself reports nothing
  ExpectGapReported(requests[1], 2, 2);
}

TEST_F(SubscribeTest, ResumeContinuesAfterTheLastPrintedMessageWithoutGapOrDuplicate) {
  const std::string position_file = ::testing::TempDir() + "/resume-position.txt";
  std::remove(position_file.c_str());
  {  // First run: two live messages, then stop at --count.
    SubscribeOptions options{.endpoint = endpoint_, .count = 2, .resume_file = position_file};
    ASSERT_THAT(SubscribeAndPublish(options,
                                    [&] {
                                      Send("ai", Copy("ai", 1, 1, "first"));
                                      Send("ai", Copy("ai", 2, 2, "second"));
                                    }),
                IsOk());
  }
  // Meanwhile sink stored ai#3. The second run must ask history from before its position and
  // print only what it has not printed: ai#3.
  FakeHistory history(context_, 1, [](const v1::HistoryRequest&, int) {
    v1::HistoryReply reply;
    *reply.add_messages() = Copy("ai", 2, 2, "second");
    *reply.add_messages() = Copy("ai", 3, 3, "third");
    reply.set_last_sequence(3);
    reply.set_head_sequence(3);
    reply.set_complete(true);
    return reply;
  });
  std::ostringstream out, err;
  SubscribeOptions options{.endpoint = endpoint_,
                           .count = 1,
                           .history_endpoint = history.endpoint(),
                           .resume_file = position_file};
  absl::StatusOr<SubscribeResult> got = Subscribe(context_, options, -1, out, err);
  ASSERT_THAT(got, IsOk());
  ASSERT_EQ(history.requests().size(), 1u);
  EXPECT_EQ(history.requests()[0].after_sequence(), 1u);
  std::vector<std::string> lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("\"third\""));
  EXPECT_EQ(got->missed, 0);
}

TEST_F(SubscribeTest, LiveCopyFromANewStoreEpochIsReportedAndTheNewStoreReplayed) {
  constexpr uint64_t kOldEpoch = 11, kNewEpoch = 22;
  auto in_epoch = [](v1::TaggedArticle copy, uint64_t epoch) {
    copy.set_store_epoch(epoch);
    return copy;
  };
  FakeHistory history(context_, 1, [&](const v1::HistoryRequest&, int) {
    v1::HistoryReply reply;
    *reply.add_messages() = in_epoch(Copy("ai", 1, 1, "new-1"), kNewEpoch);
    *reply.add_messages() = in_epoch(Copy("ai", 2, 2, "new-2"), kNewEpoch);
    reply.set_last_sequence(2);
    reply.set_head_sequence(2);
    reply.set_complete(true);
    reply.set_store_epoch(kNewEpoch);
    return reply;
  });
  SubscribeOptions options{.endpoint = endpoint_,
                           .count = 3,
                           .idle_timeout = absl::Seconds(2),
                           .history_endpoint = history.endpoint(),
                           .fill_gaps = false};
  absl::StatusOr<SubscribeResult> got = SubscribeAndPublish(options, [&] {
    Send("ai", in_epoch(Copy("ai", 5, 5, "old-5"), kOldEpoch));
    // The store was replaced: its sequences start over, below what was printed.
    Send("ai", in_epoch(Copy("ai", 2, 2, "new-2"), kNewEpoch));
  });
  ASSERT_THAT(got, IsOk());
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 3u) << err_.str();
  EXPECT_THAT(lines[0], HasSubstr("\"old-5\""));
  EXPECT_THAT(lines[1], HasSubstr("\"new-1\""));
  EXPECT_THAT(lines[2], HasSubstr("\"new-2\""));
  EXPECT_THAT(err_.str(), HasSubstr("sink's store changed (store epoch 22, was 11)"));
  const std::vector<v1::HistoryRequest>& requests = history.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].after_sequence(), 0u);
}

TEST_F(SubscribeTest, UnreadableResumeFileIsAClearError) {
  const std::string position_file = ::testing::TempDir() + "/resume-garbage.txt";
  { std::ofstream(position_file) << "this is not a position {"; }
  SubscribeOptions options{.endpoint = endpoint_, .count = 1, .resume_file = position_file};
  EXPECT_THAT(Subscribe(context_, options, -1, out_, err_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(position_file)));
}

TEST_F(SubscribeTest, MissingHistoryEndpointIsAClearError) {
  SubscribeOptions options{.endpoint = endpoint_,
                           .since = HistoryStart{},
                           .history_endpoint = "tcp://127.0.0.1:1",
                           .history_timeout = absl::Milliseconds(200)};
  EXPECT_THAT(Subscribe(context_, options, -1, out_, err_),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("is sink running?")));
}

TEST(SubscribeArgsTest, HistoryEndpointIsStreamPortPlusOne) {
  EXPECT_EQ(*HistoryEndpointFor("tcp://127.0.0.1:7401"), "tcp://127.0.0.1:7402");
  EXPECT_EQ(*HistoryEndpointFor("tcp://news.example:9000"), "tcp://news.example:9001");
  EXPECT_THAT(HistoryEndpointFor("ipc:///tmp/stream"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pass --history")));
}

TEST(SubscribeArgsTest, SinceIsASequenceOrATime) {
  EXPECT_EQ(ParseSince("0")->after_sequence, 0u);
  EXPECT_EQ(ParseSince("42")->after_sequence, 42u);
  absl::StatusOr<HistoryStart> time = ParseSince("2025-03-27T09:00:00Z");
  ASSERT_THAT(time, IsOk());
  ASSERT_TRUE(time->since_time.has_value());
  EXPECT_EQ(absl::ToUnixSeconds(*time->since_time), 1743066000);
  EXPECT_EQ(time->after_sequence, 0u) << "a time must not also set a sequence";
  EXPECT_THAT(ParseSince("last week"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace topicwire::cli
