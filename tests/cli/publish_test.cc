// `topicwire publish` against a fake ingest ROUTER running in-process on a real socket.
#include "cli/publish.h"

#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "common/zmq_channel.h"
#include "proto/article.pb.h"
#include "tests/testing/prelude.h"
#include "tests/testing/zmq_test_util.h"

namespace topicwire::cli {
namespace {

using namespace ::topicwire::testing::prelude;

// A stand-in for ingest's publish endpoint. Articles titled "reject" are REJECTED, "frame-error"
// makes the whole request an error, "busy" is answered BUSY twice before being accepted, a
// repeated id is DUPLICATE, everything else ACCEPTED. `silent` never answers.
class FakeIngest {
 public:
  explicit FakeIngest(bool silent = false) : silent_(silent) {
    EXPECT_THAT(ConfigureSocket(router_, 0), IsOk());
    endpoint_ = testing::BindLoopback(router_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeIngest() {
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }
  int requests() const { return requests_; }

 private:
  void Serve() {
    while (!stop_) {
      std::vector<zmq::pollitem_t> items = {{router_.handle(), 0, ZMQ_POLLIN, 0}};
      if (!topicwire::Poll(items, absl::Milliseconds(20)).ok()) return;
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      Frames frames;
      if (!RecvFrames(router_, frames).ok() || frames.size() != 2) continue;
      ++requests_;
      if (silent_) continue;
      v1::PublishRequest request;
      v1::PublishReply reply;
      if (!ParseFrame(frames[1], request).ok()) {
        reply.set_error("not a PublishRequest");
      } else {
        for (int i = 0; i < request.articles_size(); ++i) {
          const v1::Article& article = request.articles(i);
          if (article.title() == "frame-error") {
            reply.Clear();
            reply.set_error("request too large");
            break;
          }
          v1::PublishAck* ack = reply.add_acks();
          ack->set_index(i);
          ack->set_id(article.id());
          if (article.title() == "reject") {
            ack->set_status(v1::PublishAck::REJECTED);
            ack->set_reason("the article is not news");
          } else if (article.title() == "busy" && busy_answers_[article.id()]++ < 2) {
            ack->set_status(v1::PublishAck::BUSY);
          } else if (!seen_.insert(article.id()).second) {
            ack->set_status(v1::PublishAck::DUPLICATE);
          } else {
            ack->set_status(v1::PublishAck::ACCEPTED);
          }
        }
      }
      Frames out;
      out.push_back(std::move(frames[0]));
      out.push_back(ToFrame(reply));
      (void)SendFrames(router_, out);
    }
  }

  bool silent_;
  zmq::context_t context_{1};
  zmq::socket_t router_{context_, zmq::socket_type::router};
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::set<std::string> seen_;
  std::map<std::string, int> busy_answers_;
  std::thread thread_;
};

std::vector<SourcedArticle> MakeArticles(int count, const std::string& title = "news") {
  std::vector<SourcedArticle> articles;
  for (int i = 0; i < count; ++i) {
    SourcedArticle article{.origin = absl::StrCat("test:", i + 1)};
    article.article.set_id(absl::StrCat(title, "-", i));
    article.article.set_title(title);
    articles.push_back(std::move(article));
  }
  return articles;
}

TEST(PublishTest, PipelinesBatchesAndCountsAccepted) {
  FakeIngest ingest;
  zmq::context_t context(1);
  PublishOptions options{.endpoint = ingest.endpoint(), .batch_size = 10, .max_in_flight = 3};
  std::ostringstream progress;
  absl::StatusOr<PublishSummary> summary =
      Publish(context, options, MakeArticles(250), -1, progress);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->accepted, 250);
  EXPECT_EQ(summary->duplicate, 0);
  EXPECT_TRUE(summary->rejected.empty());
  EXPECT_EQ(ingest.requests(), 25);
  EXPECT_EQ(PublishExitCode(*summary), 0);
}

TEST(PublishTest, ReportsRejectionsAndDuplicatesWithOrigins) {
  FakeIngest ingest;
  zmq::context_t context(1);
  std::vector<SourcedArticle> articles = MakeArticles(3);
  articles.push_back(articles[0]);  // same id again
  articles.push_back(MakeArticles(1, "reject")[0]);
  std::ostringstream progress;
  absl::StatusOr<PublishSummary> summary =
      Publish(context, {.endpoint = ingest.endpoint(), .batch_size = 2}, articles, -1, progress);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->accepted, 3);
  EXPECT_EQ(summary->duplicate, 1);
  ASSERT_EQ(summary->rejected.size(), 1u);
  EXPECT_EQ(PublishExitCode(*summary), 1);
  std::ostringstream text;
  PrintSummary(*summary, text);
  EXPECT_THAT(text.str(), HasSubstr("accepted 3, duplicate 1, rejected 1"));
  EXPECT_THAT(text.str(), HasSubstr("rejected reject-0 (test:1): the article is not news"));
}

TEST(PublishTest, BusyArticlesAreSentAgainUntilAnswered) {
  FakeIngest ingest;
  zmq::context_t context(1);
  std::vector<SourcedArticle> articles = MakeArticles(5);
  for (SourcedArticle& busy : MakeArticles(2, "busy")) articles.push_back(std::move(busy));
  std::ostringstream progress;
  absl::StatusOr<PublishSummary> summary =
      Publish(context, {.endpoint = ingest.endpoint(), .busy_backoff = absl::Milliseconds(5)},
              articles, -1, progress);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->accepted, 7);
  EXPECT_EQ(summary->busy_retries, 4);
  EXPECT_EQ(PublishExitCode(*summary), 0);
}

TEST(PublishTest, FrameLevelErrorRejectsEveryArticleOfTheRequest) {
  FakeIngest ingest;
  zmq::context_t context(1);
  std::vector<SourcedArticle> articles = MakeArticles(1, "frame-error");
  for (SourcedArticle& other : MakeArticles(2)) articles.push_back(std::move(other));
  std::ostringstream progress;
  absl::StatusOr<PublishSummary> summary =
      Publish(context, {.endpoint = ingest.endpoint(), .batch_size = 3}, articles, -1, progress);
  ASSERT_THAT(summary, IsOk());
  ASSERT_EQ(summary->rejected.size(), 3u);
  EXPECT_THAT(summary->rejected[0].reason, HasSubstr("request too large"));
}

TEST(PublishTest, SilentEndpointTimesOutWithAClearMessage) {
  FakeIngest ingest(/*silent=*/true);
  zmq::context_t context(1);
  std::ostringstream progress;
  const absl::Time start = absl::Now();
  absl::StatusOr<PublishSummary> summary =
      Publish(context, {.endpoint = ingest.endpoint(), .timeout = absl::Milliseconds(300)},
              MakeArticles(3), -1, progress);
  EXPECT_THAT(summary, StatusIs(absl::StatusCode::kDeadlineExceeded,
                                HasSubstr(absl::StrCat("no reply from ", ingest.endpoint(),
                                                       " within 300ms: is ingest running? "
                                                       "(topicwire up)"))));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(PublishTest, CommandExitCodesFollowTheOutcome) {
  FakeIngest ingest;
  const std::string dir = topicwire::testing::MakeTempDir();
  std::ofstream(dir + "/ok.jsonl") << "{\"id\": \"x1\", \"title\": \"fine\"}\n";
  std::ofstream(dir + "/bad.jsonl") << "{\"id\": \"x2\", \"title\": \"reject\"}\n";
  std::istringstream in;
  std::ostringstream out, err;
  CommandIo io{.in = in, .out = out, .err = err};
  EXPECT_EQ(RunCli({"publish", "--to", ingest.endpoint(), dir + "/ok.jsonl"}, io), kExitOk);
  EXPECT_THAT(out.str(), HasSubstr("accepted 1, duplicate 0, rejected 0"));
  EXPECT_EQ(RunCli({"publish", "--to", ingest.endpoint(), dir + "/bad.jsonl"}, io), kExitFailed);
  EXPECT_THAT(out.str(), HasSubstr("rejected x2 (" + dir + "/bad.jsonl:1): the article is not"));

  std::istringstream stdin_feed("{\"id\": \"x3\", \"title\": \"fine\"}");
  CommandIo stdin_io{.in = stdin_feed, .out = out, .err = err};
  EXPECT_EQ(RunCli({"publish", "--to", ingest.endpoint()}, stdin_io), kExitOk);

  FakeIngest silent(/*silent=*/true);
  EXPECT_EQ(RunCli({"publish", "--to", silent.endpoint(), "--timeout=0.2", dir + "/ok.jsonl"}, io),
            kExitUsage);
  EXPECT_THAT(err.str(), HasSubstr("is ingest running?"));
}

}  // namespace
}  // namespace topicwire::cli
