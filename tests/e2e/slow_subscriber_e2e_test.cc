// A subscriber that stops reading, against the real binaries: sink's stream socket drops
// messages for it (ZeroMQ PUB at its high-water mark). The guarantee under test: that loss is
// counted in sink's metrics and visible to the subscriber, and `topicwire subscribe` fills every
// hole from history, so its output still has each message exactly once and in order.
#include <stdio.h>
#include <sys/wait.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "proto/article.pb.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/prelude.h"

namespace topicwire::e2e {
namespace {

using namespace ::topicwire::testing::prelude;

// About 200 KB: a few of them fill every buffer between sink and a subscriber that stops
// reading (the pipe to it, both TCP socket buffers, the ZeroMQ queues).
v1::Article BigArticle(const std::string& id) {
  v1::Article article = MakeArticle(id);
  std::string body = article.body();
  while (body.size() < 200'000) body += " The committee met again to discuss the budget.";
  article.set_body(body);
  return article;
}

struct PipeCloser {
  void operator()(FILE* pipe) const { pclose(pipe); }
};

TEST(SlowSubscriberE2eTest, DroppedMessagesAreCountedBySinkAndFilledFromHistory) {
  constexpr int kArticles = 60;
  Pipeline pipeline;
  const int sink_http = pipeline.port(topology::Endpoint::kSinkHttp);
  pipeline.StartIngest();
  // Four messages of queue per subscriber at sink: a subscriber that stalls loses messages soon.
  pipeline.StartSink({"--stream_send_hwm=4", absl::StrCat("--http_listen=127.0.0.1:", sink_http)});
  pipeline.StartWorker(0);

  // The test holds the read end of the subscriber's stdout and leaves it unread while the
  // articles flow: the subscriber blocks writing its first line and stops reading its socket.
  const std::string err_path = pipeline.dir() + "/subscriber.err";
  const std::string command =
      absl::StrCat(testing::BinDir(), "/topicwire subscribe --from ", pipeline.stream_endpoint(),
                   " --count ", kArticles, " --queue 4 --timeout 60 quantum 2>", err_path);
  std::unique_ptr<FILE, PipeCloser> output(popen(command.c_str(), "r"));
  ASSERT_NE(output, nullptr);
  ASSERT_TRUE(WaitFor(
      [&] { return MetricSample(sink_http, "topicwire_sink_stream_subscriptions_total") >= 1; },
      absl::Seconds(30)))
      << pipeline.Logs();

  zmq::context_t context(1);
  for (int batch = 0; batch < kArticles / 10; ++batch) {
    v1::PublishRequest request;
    for (int i = 0; i < 10; ++i) {
      *request.add_articles() = BigArticle(absl::StrCat("slow-", batch * 10 + i));
    }
    absl::StatusOr<v1::PublishReply> reply =
        PublishOnce(context, pipeline.publish_endpoint(), request);
    ASSERT_THAT(reply, IsOk()) << pipeline.Logs();
    for (const v1::PublishAck& ack : reply->acks()) {
      ASSERT_EQ(ack.status(), v1::PublishAck::ACCEPTED) << ack.reason();
    }
  }
  ASSERT_TRUE(WaitFor(
      [&] { return MetricSample(sink_http, "topicwire_sink_articles_stored_total") >= kArticles; },
      absl::Seconds(60)))
      << pipeline.Logs();

  // Now read: the subscriber catches up, finds the holes and fills them from history.
  std::string printed;
  char buffer[1 << 16];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), output.get())) > 0;) {
    printed.append(buffer, n);
  }
  const int status = pclose(output.release());
  std::stringstream err;
  err << std::ifstream(err_path).rdbuf();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "subscriber: " << err.str() << pipeline.Logs();

  std::set<std::string> ids;
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(printed, '\n', absl::SkipEmpty())) {
    v1::TaggedArticle tagged;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &tagged).ok());
    EXPECT_EQ(tagged.stream(), "quantum");
    EXPECT_EQ(tagged.stream_sequence(), static_cast<uint64_t>(lines + 1)) << "out of order";
    ids.insert(tagged.article().id());
    ++lines;
  }
  EXPECT_EQ(lines, kArticles);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kArticles));

  // The loss happened, sink counted it, and the subscriber saw and filled the same amount.
  const double missed = MetricSample(
      sink_http, "topicwire_sink_subscriber_missed_messages_total{stream=\"quantum\"}");
  const double gaps =
      MetricSample(sink_http, "topicwire_sink_subscriber_gaps_total{stream=\"quantum\"}");
  std::cout << "sink counted " << gaps << " gap(s), " << missed
            << " message(s); subscriber: " << err.str();
  EXPECT_GT(missed, 0) << err.str();
  EXPECT_GE(gaps, 1);
  EXPECT_THAT(err.str(), HasSubstr(absl::StrCat(gaps, " gap(s) in the live streams (", missed,
                                                " message(s) dropped for this subscriber), ",
                                                missed, " filled from history, 0 not printed")));
}

}  // namespace
}  // namespace topicwire::e2e
