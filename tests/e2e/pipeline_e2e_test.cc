// The real ingest, classify and sink binaries, talking over real loopback sockets.
#include <signal.h>
#include <sys/wait.h>

#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/article_reader.h"
#include "common/zmq_channel.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/prelude.h"

namespace topicwire::e2e {
namespace {

using namespace ::topicwire::testing::prelude;

// Publishes probe articles until one reaches `collector`: then ingest, a worker, sink and the
// subscription are all up. Probes are ids starting with "probe-".
bool WaitUntilFlowing(zmq::context_t& context, Pipeline& pipeline, StreamCollector& collector) {
  int probe = 0;
  return WaitFor(
      [&] {
        const std::string id = absl::StrCat("probe-", probe++);
        v1::PublishRequest request;
        *request.add_articles() = MakeArticle(id);
        if (!PublishOnce(context, pipeline.publish_endpoint(), request).ok()) return false;
        collector.Receive(absl::Milliseconds(500));
        for (int i = 0; i < probe; ++i) {
          if (collector.HasId(absl::StrCat("probe-", i))) return true;
        }
        return false;
      },
      absl::Seconds(60));
}

TEST(PipelineE2eTest, SampleFeedArrivesWithTheExpectedTags) {
  Pipeline pipeline;
  pipeline.StartAll(/*workers=*/2);
  zmq::context_t context(1);
  StreamCollector collector(context, pipeline.stream_endpoint());
  ASSERT_TRUE(WaitUntilFlowing(context, pipeline, collector)) << "pipeline never delivered";

  std::istringstream no_stdin;
  absl::StatusOr<std::vector<cli::SourcedArticle>> feed =
      cli::ReadArticles(testing::SourceDir() + "/samples/feed.jsonl", no_stdin);
  ASSERT_THAT(feed, IsOk());
  const std::map<std::string, std::vector<std::string>> expected = ExpectedFeedTopics();
  ASSERT_EQ(feed->size(), expected.size());
  v1::PublishRequest request;
  size_t expected_copies = 0;
  for (const cli::SourcedArticle& article : *feed) {
    *request.add_articles() = article.article;
    expected_copies += std::max<size_t>(1, expected.at(article.article.id()).size());
  }
  absl::StatusOr<v1::PublishReply> reply =
      PublishOnce(context, pipeline.publish_endpoint(), request);
  ASSERT_THAT(reply, IsOk());
  for (const v1::PublishAck& ack : reply->acks()) {
    EXPECT_EQ(ack.status(), v1::PublishAck::ACCEPTED) << ack.id() << ": " << ack.reason();
  }

  std::map<std::string, std::vector<std::string>> streams_by_id;
  std::map<std::string, std::vector<std::string>> tags_by_id;
  size_t feed_copies = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        collector.Receive(absl::Milliseconds(200));
        feed_copies = 0;
        for (const v1::TaggedArticle& copy : collector.copies()) {
          feed_copies += expected.count(copy.article().id());
        }
        return feed_copies >= expected_copies;
      },
      absl::Seconds(60)))
      << "got " << feed_copies << " of " << expected_copies << " copies";
  collector.Receive(absl::Milliseconds(200));  // a surplus copy would show up here
  for (const v1::TaggedArticle& copy : collector.copies()) {
    const std::string& id = copy.article().id();
    if (absl::StartsWith(id, "probe-")) continue;
    streams_by_id[id].push_back(copy.stream());
    std::vector<std::string> tags;
    for (const v1::Tag& tag : copy.tags()) tags.push_back(tag.topic());
    std::sort(tags.begin(), tags.end());
    tags_by_id[id] = tags;
  }
  for (const auto& [id, topics] : expected) {
    EXPECT_EQ(tags_by_id[id], topics) << id;
    std::vector<std::string> streams = streams_by_id[id];
    std::sort(streams.begin(), streams.end());
    EXPECT_EQ(streams, topics.empty() ? std::vector<std::string>{"untagged"} : topics) << id;
  }
}

TEST(PipelineE2eTest, BadInputIsAnsweredAndServicesKeepRunning) {
  Pipeline pipeline;
  pipeline.StartAll(/*workers=*/1);
  zmq::context_t context(1);

  // Not a protobuf at all: the frame as a whole is refused.
  absl::StatusOr<v1::PublishReply> malformed =
      PublishRaw(context, pipeline.publish_endpoint(), std::string("\xff\xff\xff\xff", 4));
  ASSERT_THAT(malformed, IsOk());
  EXPECT_FALSE(malformed->error().empty());
  EXPECT_EQ(malformed->acks_size(), 0);

  // An article with neither title nor body.
  v1::Article empty;
  empty.set_id("empty-1");
  absl::StatusOr<v1::PublishAck> empty_ack =
      PublishArticle(context, pipeline.publish_endpoint(), empty);
  ASSERT_THAT(empty_ack, IsOk());
  EXPECT_EQ(empty_ack->status(), v1::PublishAck::REJECTED);
  EXPECT_FALSE(empty_ack->reason().empty());

  // Invalid UTF-8 in the title, written by hand because the C++ serializer refuses it:
  // PublishRequest{articles(1): Article{id(1): "bad-utf8", title(3): "ab\xC3\x28cd"}}.
  const std::string id = "bad-utf8";
  const std::string title =
      "ab\xC3\x28"
      "cd";
  std::string article;
  article += '\x0A';
  article += static_cast<char>(id.size());
  article += id;
  article += '\x1A';
  article += static_cast<char>(title.size());
  article += title;
  std::string frame;
  frame += '\x0A';
  frame += static_cast<char>(article.size());
  frame += article;
  absl::StatusOr<v1::PublishReply> utf8_reply =
      PublishRaw(context, pipeline.publish_endpoint(), frame);
  ASSERT_THAT(utf8_reply, IsOk());
  if (utf8_reply->error().empty()) {
    ASSERT_EQ(utf8_reply->acks_size(), 1);
    EXPECT_EQ(utf8_reply->acks(0).status(), v1::PublishAck::REJECTED);
    EXPECT_THAT(utf8_reply->acks(0).reason(), HasSubstr("UTF-8"));
  } else {
    EXPECT_THAT(utf8_reply->error(), HasSubstr("UTF-8"));
  }

  // Over the default 1 MiB limit: the reason names the size and the limit. Then still serving:
  // a valid article is accepted and stored.
  ExpectOversizedRejectedAndServingGoesOn(pipeline, context, "too-big", "valid-after-bad");
}

TEST(PipelineE2eTest, DuplicateIdIsAnsweredDuplicateAndStoredOnce) {
  Pipeline pipeline;
  pipeline.StartAll(/*workers=*/1);
  zmq::context_t context(1);
  absl::StatusOr<v1::PublishAck> first =
      PublishArticle(context, pipeline.publish_endpoint(), MakeArticle("dup-1"));
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->status(), v1::PublishAck::ACCEPTED);
  absl::StatusOr<v1::PublishAck> second =
      PublishArticle(context, pipeline.publish_endpoint(), MakeArticle("dup-1"));
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->status(), v1::PublishAck::DUPLICATE);

  // A marker published after both: once it is stored, so is anything of dup-1.
  v1::PublishRequest marker;
  *marker.add_articles() = MakeArticle("marker");
  ASSERT_THAT(PublishOnce(context, pipeline.publish_endpoint(), marker), IsOk());
  std::map<std::string, int> counts;
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<std::vector<v1::TaggedArticle>> history =
            ReadHistory(context, pipeline.history_endpoint());
        if (!history.ok()) return false;
        counts = StoredCounts(*history);
        return counts.count("marker") > 0 && counts.count("dup-1") > 0;
      },
      absl::Seconds(60)));
  EXPECT_EQ(counts["dup-1"], 1);
}

TEST(PipelineE2eTest, EveryStageStopsCleanlyOnSigterm) {
  Pipeline pipeline;
  pipeline.StartAll(/*workers=*/1);
  zmq::context_t context(1);
  // Wait until the whole pipeline works, so that each stage is in its main loop.
  ASSERT_THAT(PublishArticle(context, pipeline.publish_endpoint(), MakeArticle("before-stop")),
              IsOk());
  ASSERT_TRUE(WaitUntilStoredOnce(context, pipeline.history_endpoint(), "before-stop"));
  for (const char* name : {"ingest", "classify-0", "sink"}) {
    const absl::Time start = absl::Now();
    absl::StatusOr<int> status = pipeline.Stop(name, SIGTERM, absl::Seconds(10));
    ASSERT_THAT(status, IsOk()) << name;
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << name << " " << DescribeWaitStatus(*status);
    EXPECT_LT(absl::Now() - start, absl::Seconds(10)) << name;
  }
}

TEST(PipelineE2eTest, EveryBinaryListsItsFlagsInHelp) {
  const std::map<std::string, std::vector<std::string>> flags = {
      {"ingest",
       {"--publish_endpoint", "--work_endpoint", "--commit_endpoint", "--journal",
        "--max_article_bytes", "--redelivery_timeout", "--heartbeat_interval", "--dedup_window",
        "--dedup_window_bytes", "--dedup_window_age", "--max_frames_per_message", "--max_pending",
        "--max_queued_replies_per_publisher", "--fsync", "--log_level", "--http_listen"}},
      {"classify",
       {"--work_endpoint", "--sink_endpoint", "--taxonomy", "--credit", "--heartbeat_interval",
        "--log_level", "--http_listen"}},
      {"sink",
       {"--input_endpoint", "--stream_endpoint", "--history_endpoint", "--commit_endpoint",
        "--store", "--log_level", "--http_listen"}},
      {"topicwire", {"up", "publish", "subscribe", "tag"}},
  };
  const std::string dir = testing::MakeTempDir();
  for (const auto& [binary, names] : flags) {
    const std::string log = absl::StrCat(dir, "/", binary, ".help");
    absl::StatusOr<Subprocess> child =
        Subprocess::Start({testing::BinDir() + "/" + binary, "--help"}, log);
    ASSERT_THAT(child, IsOk());
    ASSERT_THAT(child->Wait(absl::Seconds(10)), IsOk()) << binary;
    const std::string help = ReadFile(log);
    for (const std::string& name : names) {
      EXPECT_THAT(help, HasSubstr(name)) << binary << " --help";
    }
  }
}

}  // namespace
}  // namespace topicwire::e2e
