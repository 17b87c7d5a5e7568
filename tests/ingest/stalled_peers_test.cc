// The real ingest, classify and sink binaries with one of them stopped (SIGSTOP) for a while: a
// stalled sink must not use up articles' attempt budgets (nothing becomes a dead letter and
// everything is stored once it resumes), and a worker that ingest forgot while it was stopped must
// be serving again soon after it resumes.
#include <signal.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/topology.h"
#include "common/zmq_channel.h"
#include "proto/admin.pb.h"
#include "proto/article.pb.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/prelude.h"

namespace topicwire::ingest {
namespace {

using namespace ::topicwire::testing::prelude;
using ::topicwire::e2e::Pipeline;

absl::StatusOr<v1::AdminReply> ListDeadLetters(zmq::context_t& context, int admin_port) {
  zmq::socket_t admin(context, zmq::socket_type::dealer);
  if (absl::Status configured = ConfigureSocket(admin, 0); !configured.ok()) return configured;
  admin.set(zmq::sockopt::rcvtimeo, 10000);
  if (absl::Status connected = Connect(admin, absl::StrCat("tcp://127.0.0.1:", admin_port));
      !connected.ok()) {
    return connected;
  }
  v1::AdminRequest request;
  request.mutable_list_dead_letters();
  if (absl::Status sent = SendProto(admin, request); !sent.ok()) return sent;
  Frames reply;
  absl::StatusOr<bool> got = RecvFrames(admin, reply);
  if (!got.ok()) return got.status();
  if (!*got) return absl::DeadlineExceededError("no admin reply within 10s");
  v1::AdminReply parsed;
  if (absl::Status status = ParseFrame(reply.back(), parsed); !status.ok()) return status;
  return parsed;
}

TEST(StalledSinkTest, StoppedSinkUsesNoAttemptsNothingIsDeadLetteredEverythingIsStoredOnce) {
  constexpr int kArticles = 30;
  Pipeline pipeline(/*max_workers=*/1);
  // Many redelivery timeouts pass while sink is stopped; three failed attempts would make a
  // dead letter.
  pipeline.StartIngest(
      {"--redelivery_timeout=200ms", "--max_attempts=3",
       absl::StrCat("--http_listen=127.0.0.1:", pipeline.port(topology::Endpoint::kIngestHttp))});
  pipeline.StartSink();
  pipeline.StartWorker(0);
  zmq::context_t context(1);

  ASSERT_THAT(e2e::PublishArticle(context, pipeline.publish_endpoint(),
                                  e2e::MakeArticle("before", "Before the stall")),
              IsOk());
  ASSERT_TRUE(e2e::WaitUntilStoredOnce(context, pipeline.history_endpoint(), "before"))
      << pipeline.Logs();

  pipeline.process("sink").Signal(SIGSTOP);
  v1::PublishRequest request;
  for (int i = 0; i < kArticles; ++i) {
    *request.add_articles() = e2e::MakeArticle(absl::StrCat("stalled-", i), "During the stall");
  }
  absl::StatusOr<v1::PublishReply> reply =
      e2e::PublishOnce(context, pipeline.publish_endpoint(), request);
  ASSERT_THAT(reply, IsOk());
  for (const v1::PublishAck& ack : reply->acks()) {
    ASSERT_EQ(ack.status(), v1::PublishAck::ACCEPTED) << ack.reason();
  }
  // Every article redelivered more often than --max_attempts while sink is stopped, and longer
  // than ingest's liveness window (3 heartbeats of 1 s): the worker stays alive throughout.
  const absl::Time stalled_at = absl::Now();
  const int http_port = pipeline.port(topology::Endpoint::kIngestHttp);
  EXPECT_TRUE(WaitFor(
      [&] {
        return absl::Now() - stalled_at > absl::Seconds(4) &&
               e2e::MetricSample(http_port, "topicwire_ingest_redeliveries_total") >= 4 * kArticles;
      },
      absl::Seconds(20)))
      << "redeliveries stopped: "
      << e2e::MetricSample(http_port, "topicwire_ingest_redeliveries_total");
  absl::StatusOr<v1::AdminReply> during =
      ListDeadLetters(context, pipeline.port(topology::Endpoint::kAdmin));
  pipeline.process("sink").Signal(SIGCONT);
  ASSERT_THAT(during, IsOk());
  EXPECT_EQ(during->list_dead_letters().dead_letters_size(), 0)
      << "articles became dead letters while sink was stopped";

  std::map<std::string, int> stored;
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<std::vector<v1::TaggedArticle>> history =
            e2e::ReadHistory(context, pipeline.history_endpoint());
        if (!history.ok()) return false;
        stored = e2e::StoredCounts(*history);
        int stalled = 0;
        for (const auto& [id, copies] : stored) stalled += id.rfind("stalled-", 0) == 0;
        return stalled == kArticles;
      },
      absl::Seconds(30)))
      << pipeline.Logs();
  for (const auto& [id, copies] : stored) EXPECT_EQ(copies, 1) << id << " stored more than once";
  absl::StatusOr<v1::AdminReply> after =
      ListDeadLetters(context, pipeline.port(topology::Endpoint::kAdmin));
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->list_dead_letters().dead_letters_size(), 0);
}

TEST(StalledWorkerTest, WorkerForgottenWhileStoppedServesAgainSoonAfterItResumes) {
  Pipeline pipeline(/*max_workers=*/1);
  const int http_port = pipeline.port(topology::Endpoint::kIngestHttp);
  pipeline.StartIngest(
      {"--heartbeat_interval=100ms", absl::StrCat("--http_listen=127.0.0.1:", http_port)});
  pipeline.StartSink();
  pipeline.StartWorker(0);
  zmq::context_t context(1);
  ASSERT_THAT(e2e::PublishArticle(context, pipeline.publish_endpoint(),
                                  e2e::MakeArticle("before", "Before the stop")),
              IsOk());
  ASSERT_TRUE(e2e::WaitUntilStoredOnce(context, pipeline.history_endpoint(), "before"))
      << pipeline.Logs();

  // Like a worker whose loop is blocked: it still hears ingest once it runs again, so it has no
  // reason of its own to reconnect.
  pipeline.process("classify-0").Signal(SIGSTOP);
  const bool forgotten =
      WaitFor([&] { return e2e::MetricSample(http_port, "topicwire_ingest_workers") == 0; },
              absl::Seconds(10));
  pipeline.process("classify-0").Signal(SIGCONT);
  ASSERT_TRUE(forgotten) << "ingest never forgot the stopped worker";

  ASSERT_THAT(e2e::PublishArticle(context, pipeline.publish_endpoint(),
                                  e2e::MakeArticle("after", "After the stop")),
              IsOk());
  EXPECT_TRUE(
      e2e::WaitUntilStoredOnce(context, pipeline.history_endpoint(), "after", absl::Seconds(5)))
      << "the resumed worker is not served again" << pipeline.Logs();
}

}  // namespace
}  // namespace topicwire::ingest
