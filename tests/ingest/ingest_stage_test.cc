// The ingest stage in-process: real RunStage() on a thread, real sockets (inproc://), a fake
// publisher (DEALER and REQ), a fake classify worker (DEALER) and a fake sink (PUSH).
#include "ingest/ingest_stage.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/shutdown.h"
#include "common/zmq_channel.h"
#include "ingest/journal.h"
#include "ingest/lenient_publish.pb.h"
#include "proto/admin.pb.h"
#include "proto/article.pb.h"
#include "proto/internal.pb.h"
#include "tests/testing/articles.h"
#include "tests/testing/metric_values.h"
#include "tests/testing/prelude.h"

namespace topicwire::ingest {
namespace {

using namespace ::topicwire::testing::prelude;
using ::testing::Each;
using ::topicwire::testing::MakeArticle;

constexpr absl::Duration kTimeout = absl::Seconds(5);

std::string RequestFrame(const std::vector<v1::Article>& articles) {
  v1::PublishRequest request;
  for (const auto& article : articles) *request.add_articles() = article;
  return request.SerializeAsString();
}

std::vector<v1::PublishAck::Status> Statuses(const v1::PublishReply& reply) {
  std::vector<v1::PublishAck::Status> statuses;
  for (const auto& ack : reply.acks()) statuses.push_back(ack.status());
  return statuses;
}

class IngestStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.journal_path = MakeTempDir() + "/journal.db";
    options_.redelivery_timeout = absl::Milliseconds(300);
    options_.heartbeat_interval = absl::Milliseconds(100);
    options_.linger_ms = 0;
    options_.registry = registry_;
  }

  void TearDown() override {
    if (stage_.valid()) StopStage();
  }

  // Starts RunStage on fresh endpoint names (inproc names are only reusable once the old
  // socket is fully closed) and waits until it is ready.
  void StartStage() {
    ++run_;
    options_.publish_endpoint = absl::StrCat("inproc://publish-", run_);
    options_.work_endpoint = absl::StrCat("inproc://work-", run_);
    options_.commit_endpoint = absl::StrCat("inproc://commit-", run_);
    options_.admin_endpoint = absl::StrCat("inproc://admin-", run_);
    options_.readiness = NewIngestReadiness();
    absl::StatusOr<Shutdown> shutdown = Shutdown::Manual();
    ASSERT_THAT(shutdown, IsOk());
    shutdown_.emplace(*std::move(shutdown));
    stage_ = std::async(std::launch::async,
                        [this, fd = shutdown_->fd()] { return RunStage(context_, options_, fd); });
    ASSERT_TRUE(WaitFor([&] { return options_.readiness->Ready().ok(); }, kTimeout));
  }

  void StopStage() {
    shutdown_->Trigger();
    EXPECT_THAT(stage_.get(), IsOk());
    EXPECT_FALSE(options_.readiness->Ready().ok());
  }

  std::unique_ptr<zmq::socket_t> NewSocket(zmq::socket_type type, const std::string& endpoint) {
    auto socket = std::make_unique<zmq::socket_t>(context_, type);
    EXPECT_THAT(ConfigureSocket(*socket, 0), IsOk());
    socket->set(zmq::sockopt::rcvtimeo, 5000);  // a hung stage fails the test, not CI
    EXPECT_THAT(Connect(*socket, endpoint), IsOk());
    return socket;
  }
  std::unique_ptr<zmq::socket_t> NewPublisher(zmq::socket_type type = zmq::socket_type::dealer) {
    return NewSocket(type, options_.publish_endpoint);
  }
  std::unique_ptr<zmq::socket_t> NewWorker(uint32_t credit) {
    auto worker = NewSocket(zmq::socket_type::dealer, options_.work_endpoint);
    v1::WorkerMessage message;
    message.mutable_credit()->set_credit(credit);
    message.mutable_credit()->set_registers(true);
    EXPECT_THAT(SendProto(*worker, message), IsOk());
    return worker;
  }

  // Sends one raw frame and returns the reply (from a DEALER or a REQ socket).
  absl::StatusOr<v1::PublishReply> PublishRaw(zmq::socket_t& publisher, const std::string& bytes) {
    Frames request;
    if (publisher.get(zmq::sockopt::type) == ZMQ_DEALER) request.emplace_back();  // like REQ
    request.emplace_back(bytes.data(), bytes.size());
    if (absl::Status sent = SendFrames(publisher, request); !sent.ok()) return sent;
    Frames reply;
    absl::StatusOr<bool> got = RecvFrames(publisher, reply);
    if (!got.ok()) return got.status();
    if (!*got) return absl::DeadlineExceededError("no reply within 5s");
    v1::PublishReply parsed;
    if (absl::Status status = ParseFrame(reply.back(), parsed); !status.ok()) return status;
    return parsed;
  }
  absl::StatusOr<v1::PublishReply> Publish(zmq::socket_t& publisher,
                                           const std::vector<v1::Article>& articles) {
    return PublishRaw(publisher, RequestFrame(articles));
  }

  // Collects work items until `count` arrived or the timeout passed, heartbeating meanwhile so
  // that the stage keeps the worker. Empty Dispatch frames (ingest's heartbeats) are skipped.
  std::vector<v1::WorkItem> ReceiveItems(zmq::socket_t& worker, size_t count,
                                         absl::Duration timeout = kTimeout) {
    std::vector<v1::WorkItem> items;
    const absl::Time deadline = absl::Now() + timeout;
    while (items.size() < count && absl::Now() < deadline) {
      v1::WorkerMessage heartbeat;
      heartbeat.set_heartbeat(true);
      EXPECT_THAT(SendProto(worker, heartbeat), IsOk());
      std::vector<zmq::pollitem_t> poll = {{worker.handle(), 0, ZMQ_POLLIN, 0}};
      EXPECT_THAT(Poll(poll, absl::Milliseconds(50)), IsOk());
      while (true) {
        Frames frames;
        absl::StatusOr<bool> got = RecvFrames(worker, frames, /*dont_wait=*/true);
        if (!got.ok() || !*got) break;
        v1::Dispatch dispatch;
        EXPECT_THAT(ParseFrame(frames.back(), dispatch), IsOk());
        for (const auto& item : dispatch.items()) items.push_back(item);
      }
    }
    return items;
  }

  // What the stage sent a worker until it had sent `wanted` heartbeats. A heartbeat goes out
  // before that loop iteration's dispatches, so an item the stage dispatches in the same pass as
  // an awaited one (or in any pass before the second heartbeat after it) arrives before the
  // heartbeats do: they are the marker that makes "nothing more was dispatched" able to fail
  // however slow the stage is. Heartbeats back to the stage meanwhile so that it keeps the worker.
  struct UntilHeartbeats {
    std::vector<v1::WorkItem> items;
    int heartbeats = 0;
  };
  UntilHeartbeats ReceiveUntilHeartbeats(zmq::socket_t& worker, int wanted,
                                         absl::Duration timeout = kTimeout) {
    UntilHeartbeats received;
    const absl::Time deadline = absl::Now() + timeout;
    while (received.heartbeats < wanted && absl::Now() < deadline) {
      v1::WorkerMessage heartbeat;
      heartbeat.set_heartbeat(true);
      EXPECT_THAT(SendProto(worker, heartbeat), IsOk());
      std::vector<zmq::pollitem_t> poll = {{worker.handle(), 0, ZMQ_POLLIN, 0}};
      EXPECT_THAT(Poll(poll, absl::Milliseconds(50)), IsOk());
      while (received.heartbeats < wanted) {
        Frames frames;
        absl::StatusOr<bool> got = RecvFrames(worker, frames, /*dont_wait=*/true);
        if (!got.ok() || !*got) break;
        v1::Dispatch dispatch;
        EXPECT_THAT(ParseFrame(frames.back(), dispatch), IsOk());
        if (dispatch.items().empty()) ++received.heartbeats;
        for (const auto& item : dispatch.items()) received.items.push_back(item);
      }
    }
    return received;
  }

  void SendCommit(const std::vector<std::pair<uint64_t, std::string>>& committed) {
    if (sink_ == nullptr) sink_ = NewSocket(zmq::socket_type::push, options_.commit_endpoint);
    v1::CommitAck ack;
    for (const auto& [seq, id] : committed) {
      auto* entry = ack.add_committed();
      entry->set_journal_seq(seq);
      entry->set_article_id(id);
    }
    ASSERT_THAT(SendProto(*sink_, ack), IsOk());
  }

  // The value of a metric (its series with the given `reason` label, when set).
  double Metric(const std::string& name, const std::string& reason = "") {
    if (reason.empty()) return testing::MetricValue(*registry_, name);
    return testing::MetricValue(*registry_, name, {{"reason", reason}});
  }

  // Sends one admin request (as `topicwire deadletters` does) and returns the reply.
  absl::StatusOr<v1::AdminReply> Admin(const v1::AdminRequest& request) {
    auto admin = NewSocket(zmq::socket_type::dealer, options_.admin_endpoint);
    if (absl::Status sent = SendProto(*admin, request); !sent.ok()) return sent;
    Frames reply;
    absl::StatusOr<bool> got = RecvFrames(*admin, reply);
    if (!got.ok()) return got.status();
    if (!*got) return absl::DeadlineExceededError("no admin reply within 5s");
    v1::AdminReply parsed;
    if (absl::Status status = ParseFrame(reply.back(), parsed); !status.ok()) return status;
    return parsed;
  }

  void Fail(zmq::socket_t& worker, uint64_t seq) {
    v1::WorkerMessage failed;
    failed.mutable_failed()->set_journal_seq(seq);
    failed.mutable_failed()->set_reason("classifier crashed");
    ASSERT_THAT(SendProto(worker, failed), IsOk());
  }

  std::unique_ptr<SqliteJournal> OpenJournalFromTest() {
    absl::StatusOr<std::unique_ptr<SqliteJournal>> journal =
        SqliteJournal::Open(options_.journal_path, {});
    EXPECT_THAT(journal, IsOk());
    return journal.ok() ? *std::move(journal) : nullptr;
  }

  zmq::context_t context_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  IngestOptions options_;
  std::optional<Shutdown> shutdown_;
  std::future<absl::Status> stage_;
  std::unique_ptr<zmq::socket_t> sink_;
  int run_ = 0;
};

TEST_F(IngestStageTest, AcceptedArticleIsInTheJournalThenDispatchedThenCommitted) {
  StartStage();
  auto publisher = NewPublisher();
  absl::StatusOr<v1::PublishReply> reply =
      Publish(*publisher, {MakeArticle("a-1", "First"), MakeArticle("", "Second")});
  ASSERT_THAT(reply, IsOk());
  ASSERT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::ACCEPTED, v1::PublishAck::ACCEPTED));
  EXPECT_EQ(reply->acks(0).id(), "a-1");
  const std::string derived_id = reply->acks(1).id();
  EXPECT_THAT(derived_id, ::testing::StartsWith("txt-"));

  // Durable before ACCEPTED: another connection sees both records as soon as the reply is in.
  auto journal = OpenJournalFromTest();
  ASSERT_NE(journal, nullptr);
  EXPECT_TRUE(*journal->ContainsId("a-1"));
  EXPECT_TRUE(*journal->ContainsId(derived_id));
  EXPECT_EQ(journal->LoadPending()->size(), 2u);

  auto worker = NewWorker(/*credit=*/10);
  std::vector<v1::WorkItem> items = ReceiveItems(*worker, 2);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].article().id(), "a-1");
  EXPECT_EQ(items[0].attempt(), 1u);
  EXPECT_GT(items[0].accepted_at().seconds(), 0);
  EXPECT_EQ(items[1].article().id(), derived_id) << "the derived id travels with the article";

  SendCommit({{items[0].journal_seq(), "a-1"}, {items[1].journal_seq(), derived_id}});
  EXPECT_TRUE(WaitFor([&] { return Metric("topicwire_ingest_pending_articles") == 0; }, kTimeout));
  EXPECT_TRUE(journal->LoadPending()->empty());
  EXPECT_EQ(Metric("topicwire_ingest_articles_accepted_total"), 2);
  EXPECT_EQ(Metric("topicwire_ingest_articles_received_total"), 2);
  EXPECT_EQ(Metric("topicwire_ingest_workers"), 1);
  EXPECT_EQ(Metric("topicwire_ingest_journal_commit_seconds"), 1) << "one group commit";
  EXPECT_GT(Metric("topicwire_ingest_journal_bytes"), 0);
}

TEST_F(IngestStageTest, ReqClientGetsItsReplyThroughTheMirroredEnvelope) {
  StartStage();
  auto publisher = NewPublisher(zmq::socket_type::req);
  for (int i = 0; i < 2; ++i) {  // REQ only allows the next request after a matching reply
    absl::StatusOr<v1::PublishReply> reply =
        Publish(*publisher, {MakeArticle(absl::StrCat("req-", i), "Over REQ")});
    ASSERT_THAT(reply, IsOk());
    EXPECT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::ACCEPTED));
  }
}

TEST_F(IngestStageTest, DuplicatesAcrossRequestsAndInsideOneRequest) {
  StartStage();
  auto publisher = NewPublisher();
  ASSERT_THAT(Publish(*publisher, {MakeArticle("dup", "Once")}), IsOk());
  absl::StatusOr<v1::PublishReply> reply = Publish(
      *publisher, {MakeArticle("dup", "Again"), MakeArticle("new", "N"), MakeArticle("new", "N")});
  ASSERT_THAT(reply, IsOk());
  EXPECT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::DUPLICATE, v1::PublishAck::ACCEPTED,
                                            v1::PublishAck::DUPLICATE));

  // Without ids, the same URL written two ways is the same article.
  v1::Article first = MakeArticle("", "Story");
  first.set_url("https://example.com/story?utm_source=feed");
  v1::Article second = MakeArticle("", "Story, updated headline");
  second.set_url("https://EXAMPLE.com/story/");
  reply = Publish(*publisher, {first});
  ASSERT_THAT(reply, IsOk());
  EXPECT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::ACCEPTED));
  reply = Publish(*publisher, {second});
  ASSERT_THAT(reply, IsOk());
  EXPECT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::DUPLICATE));
  EXPECT_EQ(Metric("topicwire_ingest_articles_duplicate_total"), 3);
}

TEST_F(IngestStageTest, EveryRejectionIsAnsweredAndTheStageKeepsRunning) {
  options_.max_article_bytes = 4096;
  options_.max_articles_per_request = 5;
  StartStage();
  auto publisher = NewPublisher();
  auto expect_still_accepting = [&](const std::string& id) {
    absl::StatusOr<v1::PublishReply> reply = Publish(*publisher, {MakeArticle(id, "Still here")});
    ASSERT_THAT(reply, IsOk());
    EXPECT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::ACCEPTED)) << id;
  };

  v1::Article empty;
  empty.set_id("empty");
  v1::Article oversized = MakeArticle("big", "Big");
  oversized.set_body(std::string(8000, 'x'));
  v1::Article bad_url = MakeArticle("url", "Bad URL");
  bad_url.set_url("www.example.com/no-scheme");
  absl::StatusOr<v1::PublishReply> reply =
      Publish(*publisher, {empty, oversized, bad_url, MakeArticle("ok-1", "Fine")});
  ASSERT_THAT(reply, IsOk());
  ASSERT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::REJECTED, v1::PublishAck::REJECTED,
                                            v1::PublishAck::REJECTED, v1::PublishAck::ACCEPTED));
  EXPECT_THAT(reply->acks(0).reason(), HasSubstr("neither a title nor a body"));
  EXPECT_THAT(reply->acks(1).reason(), HasSubstr("over the 4096-byte limit (--max_article_bytes)"));
  EXPECT_THAT(reply->acks(2).reason(), HasSubstr("www.example.com/no-scheme"));
  EXPECT_EQ(reply->acks(3).index(), 3u);
  expect_still_accepting("after-articles");

  // Invalid UTF-8 in raw bytes (what a strict parser refuses): only that article is rejected.
  lenient::LenientPublishRequest raw_request;
  lenient::LenientArticle bad_utf8;
  bad_utf8.set_id("utf8");
  bad_utf8.set_title("Caf\xe9 au lait");  // Latin-1, not UTF-8
  *raw_request.add_articles() = bad_utf8.SerializeAsString();
  *raw_request.add_articles() = MakeArticle("ok-2", "Fine too").SerializeAsString();
  reply = PublishRaw(*publisher, raw_request.SerializeAsString());
  ASSERT_THAT(reply, IsOk());
  ASSERT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::REJECTED, v1::PublishAck::ACCEPTED));
  EXPECT_EQ(reply->acks(0).id(), "utf8");
  EXPECT_THAT(reply->acks(0).reason(), HasSubstr("field 'title' is not valid UTF-8 at byte 3"));
  expect_still_accepting("after-utf8");

  reply = PublishRaw(*publisher, "\x0a\xff\xff garbage");
  ASSERT_THAT(reply, IsOk());
  EXPECT_TRUE(reply->acks().empty());
  EXPECT_THAT(reply->error(), HasSubstr("is not a valid topicwire.v1.PublishRequest"));
  reply = PublishRaw(*publisher, "");
  ASSERT_THAT(reply, IsOk());
  EXPECT_THAT(reply->error(), HasSubstr("no articles"));
  expect_still_accepting("after-frames");

  // More articles than one request may hold: refused whole, none of them journaled.
  std::vector<v1::Article> six;
  for (int i = 0; i < 6; ++i) six.push_back(MakeArticle(absl::StrCat("many-", i), "One of many"));
  reply = Publish(*publisher, six);
  ASSERT_THAT(reply, IsOk());
  EXPECT_TRUE(reply->acks().empty());
  EXPECT_THAT(reply->error(), HasSubstr("request holds 6 articles, more than the 5"));
  expect_still_accepting("after-too-many");

  EXPECT_EQ(Metric("topicwire_ingest_articles_rejected_total", "empty"), 1);
  EXPECT_EQ(Metric("topicwire_ingest_articles_rejected_total", "too_large"), 1);
  EXPECT_EQ(Metric("topicwire_ingest_articles_rejected_total", "bad_url"), 1);
  EXPECT_EQ(Metric("topicwire_ingest_articles_rejected_total", "utf8"), 1);
  EXPECT_EQ(Metric("topicwire_ingest_articles_rejected_total", "malformed_frame"), 2);
  EXPECT_EQ(Metric("topicwire_ingest_articles_rejected_total", "too_many_articles"), 1);
  EXPECT_EQ(Metric("topicwire_ingest_articles_accepted_total"), 6);
}

TEST_F(IngestStageTest, UnconfirmedItemIsRedeliveredWithTheNextAttempt) {
  StartStage();
  auto publisher = NewPublisher();
  ASSERT_THAT(Publish(*publisher, {MakeArticle("slow", "Slow sink")}), IsOk());
  auto worker = NewWorker(/*credit=*/10);
  std::vector<v1::WorkItem> items = ReceiveItems(*worker, 2);  // first delivery + redelivery
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].journal_seq(), items[1].journal_seq());
  EXPECT_EQ(items[0].attempt(), 1u);
  EXPECT_EQ(items[1].attempt(), 2u);
  // Counted right after the send, so it may trail the item by a moment.
  EXPECT_TRUE(
      WaitFor([&] { return Metric("topicwire_ingest_redeliveries_total") >= 1; }, kTimeout));

  SendCommit({{items[1].journal_seq(), "slow"}});
  EXPECT_TRUE(WaitFor([&] { return Metric("topicwire_ingest_pending_articles") == 0; }, kTimeout));
}

TEST_F(IngestStageTest, ItemsOfAVanishedWorkerGoToAnotherWorkerAtOnce) {
  options_.redelivery_timeout = absl::Seconds(60);  // only losing the worker can requeue
  StartStage();
  auto publisher = NewPublisher();
  ASSERT_THAT(Publish(*publisher, {MakeArticle("orphan", "Orphaned")}), IsOk());
  auto first = NewWorker(/*credit=*/1);
  std::vector<v1::WorkItem> items = ReceiveItems(*first, 1);
  ASSERT_EQ(items.size(), 1u);
  first.reset();  // the worker process died

  auto second = NewWorker(/*credit=*/5);
  items = ReceiveItems(*second, 1);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].article().id(), "orphan");
  EXPECT_EQ(items[0].attempt(), 2u);
  EXPECT_TRUE(WaitFor([&] { return Metric("topicwire_ingest_workers") == 1; }, kTimeout));
}

TEST_F(IngestStageTest, SilentWorkerIsForgottenAfterThreeHeartbeats) {
  options_.redelivery_timeout = absl::Seconds(60);  // only forgetting the worker can requeue
  StartStage();
  auto publisher = NewPublisher();
  ASSERT_THAT(Publish(*publisher, {MakeArticle("stuck", "Stuck worker")}), IsOk());
  auto silent = NewWorker(/*credit=*/1);
  std::vector<v1::WorkItem> items = ReceiveItems(*silent, 1);
  ASSERT_EQ(items.size(), 1u);
  // From now on `silent` says nothing, though its socket stays connected (a hung process).
  auto healthy = NewWorker(/*credit=*/5);
  items = ReceiveItems(*healthy, 1);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].article().id(), "stuck");
  EXPECT_EQ(items[0].attempt(), 2u);
}

TEST_F(IngestStageTest, ForgottenWorkerIsToldToRegisterAgainAndIsServedOnceItDoes) {
  options_.redelivery_timeout = absl::Seconds(60);
  StartStage();
  auto blocked = NewWorker(/*credit=*/5);
  ASSERT_TRUE(WaitFor([&] { return Metric("topicwire_ingest_workers") == 1; }, kTimeout));
  // Its loop is blocked: silent past the liveness window, so ingest forgets it.
  ASSERT_TRUE(WaitFor([&] { return Metric("topicwire_ingest_workers") == 0; }, kTimeout));
  // Running again, it heartbeats under its old identity and is told to register again.
  bool told = false;
  ASSERT_TRUE(WaitFor(
      [&] {
        v1::WorkerMessage heartbeat;
        heartbeat.set_heartbeat(true);
        EXPECT_THAT(SendProto(*blocked, heartbeat), IsOk());
        Frames frames;
        while (!told) {
          absl::StatusOr<bool> got = RecvFrames(*blocked, frames, /*dont_wait=*/true);
          if (!got.ok() || !*got) break;
          v1::Dispatch dispatch;
          EXPECT_THAT(ParseFrame(frames.back(), dispatch), IsOk());
          told = dispatch.register_again();
        }
        return told;
      },
      kTimeout));
  EXPECT_EQ(Metric("topicwire_ingest_workers"), 0) << "a heartbeat alone does not register";

  auto registered = NewWorker(/*credit=*/5);  // what classify does: a fresh socket
  auto publisher = NewPublisher();
  ASSERT_THAT(Publish(*publisher, {MakeArticle("after", "After the block")}), IsOk());
  std::vector<v1::WorkItem> items = ReceiveItems(*registered, 1);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].article().id(), "after");
}

TEST_F(IngestStageTest, FailedItemIsRequeued) {
  options_.redelivery_timeout = absl::Seconds(60);
  StartStage();
  auto publisher = NewPublisher();
  ASSERT_THAT(Publish(*publisher, {MakeArticle("flaky", "Flaky")}), IsOk());
  auto worker = NewWorker(/*credit=*/5);
  std::vector<v1::WorkItem> items = ReceiveItems(*worker, 1);
  ASSERT_EQ(items.size(), 1u);
  v1::WorkerMessage failed;
  failed.mutable_failed()->set_journal_seq(items[0].journal_seq());
  failed.mutable_failed()->set_reason("classifier crashed");
  ASSERT_THAT(SendProto(*worker, failed), IsOk());
  items = ReceiveItems(*worker, 1);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].attempt(), 2u);
}

TEST_F(IngestStageTest, RepeatedFailuresBackOffButNeverDrop) {
  options_.redelivery_timeout = absl::Milliseconds(400);  // also the first backoff step
  options_.max_attempts = 10;                             // backoff starts after 5
  StartStage();
  auto publisher = NewPublisher();
  ASSERT_THAT(Publish(*publisher, {MakeArticle("poison", "Poison")}), IsOk());
  auto worker = NewWorker(/*credit=*/100);
  absl::Time last_failure;
  for (uint32_t attempt = 1; attempt <= 6; ++attempt) {
    std::vector<v1::WorkItem> items = ReceiveItems(*worker, 1);
    ASSERT_EQ(items.size(), 1u) << "attempt " << attempt;
    EXPECT_EQ(items[0].attempt(), attempt);
    if (attempt == 6) {
      EXPECT_GE(absl::Now() - last_failure, absl::Milliseconds(350)) << "no backoff after 5";
      break;
    }
    v1::WorkerMessage failed;
    failed.mutable_failed()->set_journal_seq(items[0].journal_seq());
    failed.mutable_failed()->set_reason("classifier crashed");
    ASSERT_THAT(SendProto(*worker, failed), IsOk());
    last_failure = absl::Now();
  }
}

TEST_F(IngestStageTest, RestartRedispatchesUncommittedRecordsOnly) {
  options_.redelivery_timeout = absl::Seconds(60);
  StartStage();
  {
    auto publisher = NewPublisher();
    absl::StatusOr<v1::PublishReply> reply = Publish(
        *publisher,
        {MakeArticle("r-1", "One"), MakeArticle("r-2", "Two"), MakeArticle("r-3", "Three")});
    ASSERT_THAT(reply, IsOk());
    ASSERT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::ACCEPTED, v1::PublishAck::ACCEPTED,
                                              v1::PublishAck::ACCEPTED));
  }
  SendCommit({{1, "r-1"}});  // journal_seq starts at 1
  ASSERT_TRUE(WaitFor([&] { return Metric("topicwire_ingest_pending_articles") == 2; }, kTimeout));
  sink_.reset();
  StopStage();

  StartStage();
  EXPECT_EQ(Metric("topicwire_ingest_pending_articles"), 2);
  auto worker = NewWorker(/*credit=*/10);
  std::vector<v1::WorkItem> items = ReceiveItems(*worker, 2);
  std::set<std::string> ids;
  for (const auto& item : items) ids.insert(item.article().id());
  EXPECT_THAT(ids, ElementsAre("r-2", "r-3"));
  auto publisher = NewPublisher();
  absl::StatusOr<v1::PublishReply> reply = Publish(*publisher, {MakeArticle("r-1", "One")});
  ASSERT_THAT(reply, IsOk());
  EXPECT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::DUPLICATE))
      << "the committed id is still in the persisted dedup window";
}

TEST_F(IngestStageTest, BusyAtMaxPendingUntilSinkConfirms) {
  options_.max_pending = 2;
  StartStage();
  auto publisher = NewPublisher();
  absl::StatusOr<v1::PublishReply> reply = Publish(
      *publisher, {MakeArticle("p-1", "1"), MakeArticle("p-2", "2"), MakeArticle("p-3", "3")});
  ASSERT_THAT(reply, IsOk());
  ASSERT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::ACCEPTED, v1::PublishAck::ACCEPTED,
                                            v1::PublishAck::BUSY));
  EXPECT_EQ(reply->acks(2).reason(), "ingest has 2 articles waiting for sink; retry later");
  EXPECT_EQ(Metric("topicwire_ingest_articles_busy_total"), 1);

  SendCommit({{1, "p-1"}});
  ASSERT_TRUE(WaitFor([&] { return Metric("topicwire_ingest_pending_articles") == 1; }, kTimeout));
  reply = Publish(*publisher, {MakeArticle("p-3", "3")});
  ASSERT_THAT(reply, IsOk());
  EXPECT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::ACCEPTED));
}

TEST_F(IngestStageTest, AtMostMaxInFlightDispatchedUntilSinkCommits) {
  options_.max_in_flight = 2;
  options_.redelivery_timeout = absl::Seconds(30);  // only the bound may hold items back
  StartStage();
  auto publisher = NewPublisher();
  ASSERT_THAT(Publish(*publisher, {MakeArticle("f-1", "1"), MakeArticle("f-2", "2"),
                                   MakeArticle("f-3", "3"), MakeArticle("f-4", "4")}),
              IsOk());
  auto worker = NewWorker(/*credit=*/10);  // credit for all four: the bound must hold them back
  std::vector<v1::WorkItem> items = ReceiveItems(*worker, 2);
  ASSERT_EQ(items.size(), 2u);
  UntilHeartbeats held_back = ReceiveUntilHeartbeats(*worker, 2);
  ASSERT_EQ(held_back.heartbeats, 2) << "ingest stopped heartbeating";
  EXPECT_THAT(held_back.items, IsEmpty()) << "dispatched beyond --max_in_flight";
  EXPECT_TRUE(
      WaitFor([&] { return Metric("topicwire_ingest_in_flight_articles") == 2; }, kTimeout));

  SendCommit({{items[0].journal_seq(), items[0].article().id()}});
  std::vector<v1::WorkItem> more = ReceiveItems(*worker, 1);
  ASSERT_EQ(more.size(), 1u) << "one commit makes room for one more";
  EXPECT_EQ(more[0].article().id(), "f-3");
  held_back = ReceiveUntilHeartbeats(*worker, 2);
  ASSERT_EQ(held_back.heartbeats, 2) << "ingest stopped heartbeating";
  EXPECT_THAT(held_back.items, IsEmpty()) << "one commit made room for more than one";
}

TEST_F(IngestStageTest, CommitWithTheWrongArticleIdIsIgnored) {
  StartStage();
  auto publisher = NewPublisher();
  ASSERT_THAT(Publish(*publisher, {MakeArticle("right", "R"), MakeArticle("other", "O")}), IsOk());
  // Commits arrive in order on one PUSH socket: once "other" is confirmed, the mismatched
  // commit before it was seen too.
  SendCommit({{1, "wrong"}});
  SendCommit({{2, "other"}});
  ASSERT_TRUE(WaitFor([&] { return Metric("topicwire_ingest_pending_articles") == 1; }, kTimeout));
  auto journal = OpenJournalFromTest();
  ASSERT_NE(journal, nullptr);
  absl::StatusOr<std::vector<PendingRecord>> pending = journal->LoadPending();
  ASSERT_THAT(pending, IsOk());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].article_id, "right");
}

TEST_F(IngestStageTest, InMemoryJournalFailureAnswersBusyAndTheStageKeepsRunning) {
  InMemoryJournal journal;
  journal.FailAppends(absl::UnavailableError("disk full"));
  options_.publish_endpoint = "inproc://publish-failing";
  options_.work_endpoint = "inproc://work-failing";
  options_.commit_endpoint = "inproc://commit-failing";
  absl::StatusOr<Shutdown> shutdown = Shutdown::Manual();
  ASSERT_THAT(shutdown, IsOk());
  auto stage = std::async(std::launch::async,
                          [&] { return RunStage(context_, options_, journal, shutdown->fd()); });
  auto publisher = NewPublisher();
  absl::StatusOr<v1::PublishReply> reply = Publish(*publisher, {MakeArticle("x", "X")});
  ASSERT_THAT(reply, IsOk());
  ASSERT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::BUSY));
  EXPECT_THAT(reply->acks(0).reason(), HasSubstr("disk full"));
  reply = Publish(*publisher, {MakeArticle("y", "Y")});
  ASSERT_THAT(reply, IsOk()) << "the stage is still answering";
  EXPECT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::BUSY));
  shutdown->Trigger();
  EXPECT_THAT(stage.get(), IsOk());
}

TEST_F(IngestStageTest, FullJournalDiskAnswersBusyThenAcceptsWhenSpaceIsBack) {
  options_.max_journal_bytes = 256 * 1024;  // PRAGMA max_page_count: a disk that fills up
  StartStage();
  auto publisher = NewPublisher();
  const std::string body(20 * 1024, 'w');
  std::vector<std::pair<uint64_t, std::string>> accepted;
  std::optional<v1::PublishAck> busy;
  for (int i = 0; i < 100 && !busy.has_value(); ++i) {
    v1::Article article = MakeArticle(absl::StrCat("full-", i), "Full");
    article.set_body(body);
    absl::StatusOr<v1::PublishReply> reply = Publish(*publisher, {article});
    ASSERT_THAT(reply, IsOk());
    ASSERT_EQ(reply->acks_size(), 1);
    if (reply->acks(0).status() == v1::PublishAck::ACCEPTED) {
      accepted.emplace_back(accepted.size() + 1, article.id());  // seqs count from 1
    } else {
      busy = reply->acks(0);
    }
  }
  ASSERT_TRUE(busy.has_value()) << "the journal never filled up";
  EXPECT_EQ(busy->status(), v1::PublishAck::BUSY);
  EXPECT_EQ(busy->reason(), "ingest's journal disk is full; retry later");
  EXPECT_GE(Metric("topicwire_ingest_journal_full_total"), 1);
  // Nothing answered ACCEPTED is missing: every accepted article is pending in the journal.
  EXPECT_EQ(Metric("topicwire_ingest_pending_articles"), static_cast<double>(accepted.size()));

  // Sink confirms everything: the journal gives the space back and the stage accepts again.
  SendCommit(accepted);
  ASSERT_TRUE(WaitFor([&] { return Metric("topicwire_ingest_pending_articles") == 0; }, kTimeout));
  v1::Article retry = MakeArticle("retry-after-full", "Retry");
  retry.set_body(body);
  absl::StatusOr<v1::PublishReply> reply = Publish(*publisher, {retry});
  ASSERT_THAT(reply, IsOk());
  EXPECT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::ACCEPTED));
}

TEST_F(IngestStageTest, JournalDiskFullOfRememberedIdsStillAcceptsAndAnswersDuplicate) {
  options_.max_journal_bytes = 256 * 1024;  // PRAGMA max_page_count: a disk that fills up
  options_.dedup_window_bytes = 0;          // a window that does not fit the disk
  StartStage();
  auto publisher = NewPublisher();
  // Each round is accepted, confirmed by sink, and stays in the window as ids only: several
  // times more ids than the disk holds.
  uint64_t next_seq = 1;
  const int kRounds = 60;
  const int kPerRound = 100;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<v1::Article> articles;
    for (int i = 0; i < kPerRound; ++i) {
      articles.push_back(MakeArticle(absl::StrCat("remembered-", round, "-", i), "Remembered"));
    }
    absl::StatusOr<v1::PublishReply> reply = Publish(*publisher, articles);
    ASSERT_THAT(reply, IsOk());
    ASSERT_THAT(Statuses(*reply), Each(v1::PublishAck::ACCEPTED))
        << "round " << round << ": " << reply->ShortDebugString().substr(0, 300);
    std::vector<std::pair<uint64_t, std::string>> committed;
    for (const v1::Article& article : articles) committed.emplace_back(next_seq++, article.id());
    SendCommit(committed);
    ASSERT_TRUE(
        WaitFor([&] { return Metric("topicwire_ingest_pending_articles") == 0; }, kTimeout));
  }
  EXPECT_LE(Metric("topicwire_ingest_journal_bytes"), 256 * 1024);
  // The newest ids are still inside the window.
  absl::StatusOr<v1::PublishReply> again =
      Publish(*publisher, {MakeArticle(absl::StrCat("remembered-", kRounds - 1, "-0"), "Again"),
                           MakeArticle(absl::StrCat("remembered-", kRounds - 1, "-99"), "Again")});
  ASSERT_THAT(again, IsOk());
  EXPECT_THAT(Statuses(*again), Each(v1::PublishAck::DUPLICATE));
}

TEST_F(IngestStageTest, MessageOfTooManyFramesIsRefusedWholeCountedAndOthersAreServed) {
  StartStage();
  auto hostile = NewPublisher();
  auto good = NewPublisher(zmq::socket_type::req);
  const std::string request = RequestFrame({MakeArticle("hidden", "In a long message")});
  // As a REQ client would frame it ([empty][...]) and as a DEALER without a delimiter would.
  for (const bool delimiter : {true, false}) {
    Frames message;
    if (delimiter) message.emplace_back();
    for (int i = 0; i < 100'000; ++i) message.emplace_back(request.data(), request.size());
    ASSERT_THAT(SendFrames(*hostile, message), IsOk());
    Frames reply;
    absl::StatusOr<bool> got = RecvFrames(*hostile, reply);
    ASSERT_THAT(got, IsOk());
    ASSERT_TRUE(*got) << "no answer to the long message";
    ASSERT_EQ(reply.size(), delimiter ? 2u : 1u) << "answered on the client's own envelope";
    v1::PublishReply refused;
    ASSERT_THAT(ParseFrame(reply.back(), refused), IsOk());
    EXPECT_EQ(refused.acks_size(), 0);
    EXPECT_THAT(refused.error(), HasSubstr("at most 8 frames"));
    EXPECT_THAT(refused.error(),
                HasSubstr(absl::StrCat("this one had ", delimiter ? 100'002 : 100'001)));

    absl::StatusOr<v1::PublishReply> served =
        Publish(*good, {MakeArticle(absl::StrCat("good-", delimiter), "Served")});
    ASSERT_THAT(served, IsOk());
    EXPECT_THAT(Statuses(*served), ElementsAre(v1::PublishAck::ACCEPTED));
  }
  EXPECT_EQ(Metric("topicwire_ingest_articles_rejected_total", "too_many_frames"), 2);
  EXPECT_EQ(Metric("topicwire_ingest_articles_accepted_total"), 2)
      << "nothing of the long messages";
}

TEST_F(IngestStageTest, PoisonArticleIsDeadLetteredAfterMaxAttemptsAndCanBeReplayed) {
  options_.max_attempts = 3;
  options_.redelivery_timeout = absl::Seconds(60);  // only failures count here
  StartStage();
  auto publisher = NewPublisher();
  ASSERT_THAT(Publish(*publisher, {MakeArticle("poison", "Poison pill"), MakeArticle("good", "G")}),
              IsOk());
  auto worker = NewWorker(/*credit=*/100);
  // A worker that fails on "poison" every time and stores everything else.
  uint32_t poison_attempts = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const v1::WorkItem& item : ReceiveItems(*worker, 1, absl::Milliseconds(100))) {
          if (item.article().id() == "poison") {
            EXPECT_EQ(item.attempt(), ++poison_attempts);
            Fail(*worker, item.journal_seq());
          } else {
            SendCommit({{item.journal_seq(), item.article().id()}});
          }
        }
        return Metric("topicwire_ingest_dead_letters") == 1 &&
               Metric("topicwire_ingest_pending_articles") == 0;
      },
      kTimeout));
  EXPECT_EQ(poison_attempts, 3u) << "set aside after --max_attempts, never retried forever";
  EXPECT_EQ(Metric("topicwire_ingest_dead_letters_total"), 1);
  // A dead letter is never dispatched again. Rather than watching for it for a while (which a
  // slow stage passes), publish a marker: dispatch follows journal order, so a poison article
  // still in the queue would reach the worker before the marker does.
  ASSERT_THAT(Publish(*publisher, {MakeArticle("after-poison", "Marker")}), IsOk());
  std::vector<std::string> dispatched;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const v1::WorkItem& item : ReceiveItems(*worker, 1, absl::Milliseconds(100))) {
          dispatched.push_back(item.article().id());
          SendCommit({{item.journal_seq(), item.article().id()}});
        }
        return !dispatched.empty() && dispatched.back() == "after-poison";
      },
      kTimeout))
      << "the marker never arrived";
  EXPECT_THAT(dispatched, ElementsAre("after-poison"));

  v1::AdminRequest list;
  list.mutable_list_dead_letters();
  absl::StatusOr<v1::AdminReply> listed = Admin(list);
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->list_dead_letters().dead_letters_size(), 1);
  const v1::DeadLetter& letter = listed->list_dead_letters().dead_letters(0);
  EXPECT_EQ(letter.id(), "poison");
  EXPECT_EQ(letter.title(), "Poison pill");
  EXPECT_EQ(letter.attempts(), 3u);
  EXPECT_THAT(letter.last_reason(), HasSubstr("classifier crashed"));
  EXPECT_LE(letter.first_attempt().seconds(), letter.last_attempt().seconds());
  EXPECT_GT(letter.first_attempt().seconds(), 0);

  // Still a known id: a publisher's retry is a DUPLICATE, not a second copy.
  absl::StatusOr<v1::PublishReply> again = Publish(*publisher, {MakeArticle("poison", "P")});
  ASSERT_THAT(again, IsOk());
  EXPECT_THAT(Statuses(*again), ElementsAre(v1::PublishAck::DUPLICATE));

  v1::AdminRequest replay;
  replay.mutable_replay_dead_letters()->add_ids("poison");
  replay.mutable_replay_dead_letters()->add_ids("never-heard-of");
  absl::StatusOr<v1::AdminReply> replayed = Admin(replay);
  ASSERT_THAT(replayed, IsOk());
  EXPECT_EQ(replayed->replay_dead_letters().replayed(), 1u);
  EXPECT_THAT(replayed->replay_dead_letters().unknown_ids(), ElementsAre("never-heard-of"));
  std::vector<v1::WorkItem> items = ReceiveItems(*worker, 1);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].article().id(), "poison");
  EXPECT_EQ(items[0].attempt(), 1u) << "a fresh attempt budget";
  EXPECT_EQ(Metric("topicwire_ingest_dead_letters"), 0);
}

// Setting the wall clock (NTP stepping it, an operator) must not touch the timers: stepped an
// hour ahead it would time out every delivery and forget every worker at once, stepped back it
// would stop the heartbeats for an hour.
TEST_F(IngestStageTest, WallClockStepsNeitherRedeliverNorForgetWorkersNorStopHeartbeats) {
  // Shared: the stage may outlive this function's frame when an assertion ends the test early.
  auto wall_offset_seconds = std::make_shared<std::atomic<int64_t>>(0);
  options_.clocks.wall = [wall_offset_seconds] {
    return absl::Now() + absl::Seconds(wall_offset_seconds->load());
  };
  options_.redelivery_timeout = absl::Seconds(60);
  StartStage();
  auto publisher = NewPublisher();
  ASSERT_THAT(Publish(*publisher, {MakeArticle("a1")}), IsOk());
  auto worker = NewWorker(/*credit=*/10);
  const absl::Time dispatched_at = absl::Now();
  const std::vector<v1::WorkItem> items = ReceiveItems(*worker, 1);  // never confirmed
  ASSERT_EQ(items.size(), 1u);
  // The stage marks the item in flight just after the send the worker already saw.
  ASSERT_TRUE(
      WaitFor([&] { return Metric("topicwire_ingest_in_flight_articles") == 1; }, kTimeout));

  *wall_offset_seconds = 3600;
  // Ten of ingest's timer passes under the stepped clock (counted by its heartbeats, not by our
  // clock, so a slow stage still runs them all): the item is not redelivered, the worker is kept.
  UntilHeartbeats stepped = ReceiveUntilHeartbeats(*worker, 10);
  ASSERT_EQ(stepped.heartbeats, 10) << "ingest stopped heartbeating after the wall clock step";
  EXPECT_THAT(stepped.items, IsEmpty()) << "redelivered after the wall clock step";
  EXPECT_EQ(Metric("topicwire_ingest_redeliveries_total"), 0);
  EXPECT_EQ(Metric("topicwire_ingest_workers"), 1);

  *wall_offset_seconds = -3600;
  // The worker still hears ingest's heartbeats (empty Dispatches) every 100 ms.
  int heartbeats = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  while (absl::Now() < deadline) {
    v1::WorkerMessage heartbeat;
    heartbeat.set_heartbeat(true);
    ASSERT_THAT(SendProto(*worker, heartbeat), IsOk());
    std::vector<zmq::pollitem_t> poll = {{worker->handle(), 0, ZMQ_POLLIN, 0}};
    ASSERT_THAT(Poll(poll, std::clamp(deadline - absl::Now(), absl::ZeroDuration(),
                                      absl::Milliseconds(50))),
                IsOk());
    Frames frames;
    absl::StatusOr<bool> got = RecvFrames(*worker, frames, /*dont_wait=*/true);
    ASSERT_THAT(got, IsOk());
    if (!*got) continue;
    v1::Dispatch dispatch;
    ASSERT_THAT(ParseFrame(frames.back(), dispatch), IsOk());
    if (dispatch.items_size() == 0 && !dispatch.register_again()) ++heartbeats;
  }
  EXPECT_GE(heartbeats, 3) << "heartbeats stopped when the wall clock went back";

  // The attempt times kept for users stay wall clock (a monotonic time would read as 1970).
  Fail(*worker, items[0].journal_seq());
  ASSERT_TRUE(
      WaitFor([&] { return Metric("topicwire_ingest_failed_attempts_total") == 1; }, kTimeout));
  StopStage();
  auto journal = OpenJournalFromTest();
  ASSERT_NE(journal, nullptr);
  absl::StatusOr<std::vector<PendingRecord>> pending = journal->LoadPending();
  ASSERT_THAT(pending, IsOk());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_LT(absl::AbsDuration((*pending)[0].first_attempt - dispatched_at), absl::Minutes(1))
      << "first_attempt is the wall clock of the first dispatch";
}

// Dead letters straight into the journal file, as many failed deliveries would leave them.
void FillWithDeadLetters(const std::string& path, int count) {
  absl::StatusOr<std::unique_ptr<SqliteJournal>> journal =
      SqliteJournal::Open(path, {.fsync = false});
  ASSERT_THAT(journal, IsOk());
  std::vector<NewRecord> records;
  for (int i = 1; i <= count; ++i) {
    const v1::Article article =
        MakeArticle(absl::StrCat("dead-", i), absl::StrCat("Dead ", i), std::string(1000, 'x'));
    records.push_back({article.id(), article.SerializeAsString()});
  }
  absl::StatusOr<std::vector<uint64_t>> seqs = (*journal)->Append(records, absl::Now());
  ASSERT_THAT(seqs, IsOk());
  for (uint64_t seq : *seqs) {
    ASSERT_THAT((*journal)->MoveToDeadLetters(seq, {.attempts = 5,
                                                    .first_attempt = absl::Now(),
                                                    .last_attempt = absl::Now(),
                                                    .reason = "classifier crashed"}),
                IsOk());
  }
}

// 20,000 dead letters: every list and replay reply is one bounded page, the cursor walks them
// all in order, and a replay of all of them goes a page per turn of the stage's loop, so a
// publisher is answered while it runs.
TEST_F(IngestStageTest, DeadLettersListAndReplayInBoundedPagesWhilePublishersAreServed) {
  constexpr int kDeadLetters = 20'000;
  constexpr int64_t kMaxReplyBytes = 64 << 10;
  FillWithDeadLetters(options_.journal_path, kDeadLetters);
  options_.admin = {.max_page_size = 500, .max_reply_bytes = kMaxReplyBytes};
  StartStage();

  // An old client's request (no page size, no cursor) gets the first page and where to go on.
  v1::AdminRequest request;
  request.mutable_list_dead_letters();
  absl::StatusOr<v1::AdminReply> reply = Admin(request);
  ASSERT_THAT(reply, IsOk());
  EXPECT_GT(reply->list_dead_letters().dead_letters_size(), 0);
  EXPECT_LE(reply->list_dead_letters().dead_letters_size(), 500);
  EXPECT_NE(reply->list_dead_letters().next_after_seq(), 0u);
  EXPECT_EQ(reply->list_dead_letters().total(), static_cast<uint64_t>(kDeadLetters));

  // Listing them all a page at a time: each reply bounded in bytes, ids in order.
  int listed = 0;
  int pages = 0;
  uint64_t after_seq = 0;
  do {
    request.mutable_list_dead_letters()->set_page_size(1000);  // more than the stage allows
    request.mutable_list_dead_letters()->set_after_seq(after_seq);
    reply = Admin(request);
    ASSERT_THAT(reply, IsOk());
    ASSERT_TRUE(reply->error().empty()) << reply->error();
    EXPECT_LE(static_cast<int64_t>(reply->ByteSizeLong()), kMaxReplyBytes);
    const v1::DeadLetterListReply& page = reply->list_dead_letters();
    ASSERT_LE(page.dead_letters_size(), 500);
    for (const v1::DeadLetter& letter : page.dead_letters()) {
      ++listed;
      ASSERT_EQ(letter.id(), absl::StrCat("dead-", listed));
      ASSERT_EQ(letter.title(), absl::StrCat("Dead ", listed));
    }
    after_seq = page.next_after_seq();
    ++pages;
  } while (after_seq != 0 && pages < 1000);
  EXPECT_EQ(listed, kDeadLetters);
  EXPECT_GE(pages, kDeadLetters / 500);

  // Replaying the first 5,000 a page per request, as the CLI does.
  int replayed = 0;
  after_seq = 0;
  while (replayed < 5000) {
    request.Clear();
    request.mutable_replay_dead_letters()->set_all(true);
    request.mutable_replay_dead_letters()->set_page_size(1000);
    request.mutable_replay_dead_letters()->set_after_seq(after_seq);
    reply = Admin(request);
    ASSERT_THAT(reply, IsOk());
    ASSERT_TRUE(reply->error().empty()) << reply->error();
    EXPECT_LE(static_cast<int64_t>(reply->ByteSizeLong()), kMaxReplyBytes);
    ASSERT_EQ(reply->replay_dead_letters().replayed(), 500u);
    EXPECT_EQ(reply->replay_dead_letters().ids(0), absl::StrCat("dead-", replayed + 1));
    after_seq = reply->replay_dead_letters().next_after_seq();
    replayed += 500;
  }
  EXPECT_EQ(Metric("topicwire_ingest_dead_letters"), kDeadLetters - 5000);

  // The rest in one request from an old client: the stage replays them a page per turn and
  // answers publishers between the pages.
  std::atomic<bool> replay_answered = false;
  auto replay_all = std::async(std::launch::async, [&] {
    v1::AdminRequest all;
    all.mutable_replay_dead_letters()->set_all(true);
    auto admin = NewSocket(zmq::socket_type::dealer, options_.admin_endpoint);
    admin->set(zmq::sockopt::rcvtimeo, 60'000);
    EXPECT_THAT(SendProto(*admin, all), IsOk());
    Frames frames;
    absl::StatusOr<bool> got = RecvFrames(*admin, frames);
    replay_answered = true;
    v1::AdminReply answer;
    if (got.ok() && *got) {
      EXPECT_THAT(ParseFrame(frames.back(), answer), IsOk());
    }
    return answer;
  });
  auto publisher = NewPublisher();
  // A publish counts when it was sent after the first page was replayed and answered while some
  // dead letters were still waiting: the stage served it between two pages.
  const double waiting = kDeadLetters - 5000;
  int published = 0;
  int answered_between_pages = 0;
  absl::Duration slowest = absl::ZeroDuration();
  while (!replay_answered) {
    const bool replay_started = Metric("topicwire_ingest_dead_letters") < waiting;
    const absl::Time start = absl::Now();
    absl::StatusOr<v1::PublishReply> reply =
        Publish(*publisher, {MakeArticle(absl::StrCat("live-", published++))});
    const absl::Duration latency = absl::Now() - start;
    ASSERT_THAT(reply, IsOk());
    EXPECT_THAT(Statuses(*reply), ElementsAre(v1::PublishAck::ACCEPTED));
    if (!replay_started) continue;
    slowest = std::max(slowest, latency);
    if (Metric("topicwire_ingest_dead_letters") > 0) ++answered_between_pages;
  }
  const v1::AdminReply answer = replay_all.get();
  ASSERT_TRUE(answer.error().empty()) << answer.error();
  EXPECT_EQ(answer.replay_dead_letters().replayed(), static_cast<uint32_t>(kDeadLetters - 5000));
  EXPECT_LE(static_cast<int64_t>(answer.ByteSizeLong()), kMaxReplyBytes);
  EXPECT_EQ(Metric("topicwire_ingest_dead_letters"), 0);
  EXPECT_EQ(Metric("topicwire_ingest_pending_articles"), kDeadLetters + published);
  // 30 pages of 500: a publisher waits for one page at most, not for all 15,000.
  EXPECT_GE(answered_between_pages, 5) << "publishers must be served between replay pages";
  EXPECT_LT(slowest, absl::Seconds(1)) << "slowest publish during the replay";
  std::cerr << "publishes answered between replay pages: " << answered_between_pages
            << ", slowest publish during the replay " << absl::FormatDuration(slowest) << "\n";
}

// Timeouts while the holding worker is alive (sink stalled or unreachable) use no attempt; a
// worker that vanishes holding the item does, and the count survives a restart.
TEST_F(IngestStageTest, VanishingWorkersCountAsAttemptsAcrossRestartsTimeoutsDoNot) {
  options_.max_attempts = 3;
  options_.redelivery_timeout = absl::Milliseconds(200);
  StartStage();
  auto publisher = NewPublisher();
  ASSERT_THAT(Publish(*publisher, {MakeArticle("crasher", "C")}), IsOk());
  {
    // Heartbeats (ReceiveItems) but never gets the item confirmed: redelivered to it, no attempt.
    auto worker = NewWorker(/*credit=*/2);
    std::vector<v1::WorkItem> items = ReceiveItems(*worker, 2);
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(items[1].attempt(), 2u) << "the second delivery";
    EXPECT_EQ(Metric("topicwire_ingest_failed_attempts_total"), 0);
  }  // then it vanishes holding the item: one attempt
  ASSERT_TRUE(
      WaitFor([&] { return Metric("topicwire_ingest_failed_attempts_total") == 1; }, kTimeout));
  {
    auto worker = NewWorker(/*credit=*/1);
    ASSERT_EQ(ReceiveItems(*worker, 1).size(), 1u);
  }
  ASSERT_TRUE(
      WaitFor([&] { return Metric("topicwire_ingest_failed_attempts_total") == 2; }, kTimeout));
  StopStage();
  StartStage();
  EXPECT_EQ(Metric("topicwire_ingest_dead_letters"), 0);
  {
    auto worker = NewWorker(/*credit=*/10);
    std::vector<v1::WorkItem> items = ReceiveItems(*worker, 1);
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].attempt(), 3u) << "the attempt count survived the restart";
  }
  ASSERT_TRUE(WaitFor([&] { return Metric("topicwire_ingest_dead_letters") == 1; }, kTimeout));
  EXPECT_EQ(Metric("topicwire_ingest_pending_articles"), 0);
}

TEST_F(IngestStageTest, CorruptJournalRecordIsQuarantinedCountedAndTheRestFlows) {
  {
    auto journal = OpenJournalFromTest();
    ASSERT_NE(journal, nullptr);
    ASSERT_THAT(journal->Append({{"q-1", MakeArticle("q-1", "One").SerializeAsString()},
                                 {"q-2", MakeArticle("q-2", "Two").SerializeAsString()}},
                                absl::Now()),
                IsOk());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(options_.journal_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE records SET article = X'00' WHERE journal_seq = 1", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  StartStage();
  EXPECT_EQ(Metric("topicwire_ingest_journal_quarantined_records_total"), 1);
  EXPECT_EQ(Metric("topicwire_ingest_pending_articles"), 1);
  auto worker = NewWorker(/*credit=*/10);
  std::vector<v1::WorkItem> items = ReceiveItems(*worker, 1);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].article().id(), "q-2");
}

}  // namespace
}  // namespace topicwire::ingest
