// Failure cases with the real binaries: a worker killed with SIGKILL mid-stream, and an ingest
// killed with SIGKILL that must resume from its journal. Nothing accepted may be lost or stored
// twice; the store is checked through sink's history endpoint.
#include <signal.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/article_reader.h"
#include "cli/publish.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/prelude.h"

namespace topicwire::e2e {
namespace {

using namespace ::topicwire::testing::prelude;

std::vector<cli::SourcedArticle> MakeBatch(const std::string& prefix, int count) {
  std::vector<cli::SourcedArticle> articles;
  for (int i = 0; i < count; ++i) {
    cli::SourcedArticle article;
    article.article = MakeArticle(absl::StrCat(prefix, i));
    article.origin = absl::StrCat("generated:", i);
    articles.push_back(std::move(article));
  }
  return articles;
}

// Waits until sink's store holds at least `count` articles whose id starts with `prefix`;
// returns the id -> copies map of those.
std::map<std::string, int> WaitForStored(zmq::context_t& context, const Pipeline& pipeline,
                                         const std::string& prefix, int count,
                                         absl::Duration timeout) {
  std::map<std::string, int> stored;
  WaitFor(
      [&] {
        absl::StatusOr<std::vector<v1::TaggedArticle>> history =
            ReadHistory(context, pipeline.history_endpoint());
        if (!history.ok()) return false;
        stored.clear();
        for (const auto& [id, copies] : StoredCounts(*history)) {
          if (id.rfind(prefix, 0) == 0) stored[id] = copies;
        }
        return static_cast<int>(stored.size()) >= count;
      },
      timeout);
  return stored;
}

TEST(ReliabilityE2eTest, KilledWorkerLosesNothing) {
  constexpr int kArticles = 3000;
  Pipeline pipeline;
  pipeline.StartIngest({"--redelivery_timeout=2s"});
  pipeline.StartSink();
  pipeline.StartWorker(0);
  pipeline.StartWorker(1);
  zmq::context_t context(1);

  // Publish batch after batch. Once the stream flows, freeze one worker (SIGSTOP) so that the
  // next batch is handed to it and sits in its hands, then kill -9 it and keep publishing: its
  // items must be redelivered (ingest forgets a silent worker, or --redelivery_timeout passes).
  constexpr int kBatch = 100;
  const std::vector<cli::SourcedArticle> articles = MakeBatch("w", kArticles);
  int accepted = 0;
  for (int start = 0; start < kArticles; start += kBatch) {
    if (start == kArticles / 3) {
      pipeline.process("classify-0").Signal(SIGSTOP);
    }
    v1::PublishRequest request;
    for (int i = start; i < start + kBatch; ++i) *request.add_articles() = articles[i].article;
    absl::StatusOr<v1::PublishReply> reply =
        PublishOnce(context, pipeline.publish_endpoint(), request);
    ASSERT_THAT(reply, IsOk());
    for (const v1::PublishAck& ack : reply->acks()) {
      accepted += ack.status() == v1::PublishAck::ACCEPTED;
    }
    if (start == 0) {
      // Both workers are connected and the stream flows before anything is broken.
      ASSERT_EQ(WaitForStored(context, pipeline, "w", kBatch, absl::Seconds(60)).size(),
                static_cast<size_t>(kBatch));
    }
    if (start == kArticles / 3) {
      ASSERT_THAT(pipeline.Stop("classify-0", SIGKILL, absl::Seconds(10)), IsOk());
      const size_t stored_at_kill =
          WaitForStored(context, pipeline, "w", 0, absl::ZeroDuration()).size();
      std::cerr << "classify-0 killed with " << stored_at_kill << " of " << start + kBatch
                << " accepted articles stored\n";
    }
  }
  EXPECT_EQ(accepted, kArticles);

  std::map<std::string, int> stored =
      WaitForStored(context, pipeline, "w", kArticles, absl::Seconds(90));
  EXPECT_EQ(stored.size(), static_cast<size_t>(kArticles)) << "articles lost";
  int stored_twice = 0;
  for (const auto& [id, copies] : stored) stored_twice += copies != 1;
  EXPECT_EQ(stored_twice, 0) << "articles stored more than once";
}

TEST(ReliabilityE2eTest, RestartedIngestResumesFromItsJournal) {
  constexpr int kArticles = 200;
  Pipeline pipeline;
  pipeline.StartIngest();  // no workers, no sink yet: everything stays in the journal
  zmq::context_t context(1);
  std::ostringstream progress;
  absl::StatusOr<cli::PublishSummary> summary =
      cli::Publish(context, {.endpoint = pipeline.publish_endpoint(), .batch_size = 20},
                   MakeBatch("j", kArticles), -1, progress);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->accepted, kArticles);

  ASSERT_THAT(pipeline.Stop("ingest", SIGKILL, absl::Seconds(10)), IsOk());
  pipeline.StartIngest();
  pipeline.StartSink();
  pipeline.StartWorker(0);
  pipeline.StartWorker(1);
  std::map<std::string, int> stored =
      WaitForStored(context, pipeline, "j", kArticles, absl::Seconds(60));
  EXPECT_EQ(stored.size(), static_cast<size_t>(kArticles));
  for (const auto& [id, copies] : stored) EXPECT_EQ(copies, 1) << id;
}

}  // namespace
}  // namespace topicwire::e2e
