// The real sink stage on a thread, over real loopback sockets: a fake worker PUSHes deliveries,
// a SUB listens to the streams, a fake ingest PULL collects CommitAcks, DEALER and REQ clients
// read history.
#include "sink/sink_stage.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/shutdown.h"
#include "common/sqlite.h"
#include "common/zmq_channel.h"
#include "google/protobuf/util/time_util.h"
#include "proto/history.pb.h"
#include "proto/internal.pb.h"
#include "sink/store.h"
#include "tests/testing/articles.h"
#include "tests/testing/metric_values.h"
#include "tests/testing/prelude.h"
#include "tests/testing/zmq_test_util.h"

namespace topicwire::sink {
namespace {

using ::google::protobuf::util::TimeUtil;
using namespace ::topicwire::testing::prelude;
using ::topicwire::testing::MetricValue;

constexpr int kReceiveTimeoutMs = 5000;  // a hung stage fails the test instead of hanging CI

v1::Delivery MakeDelivery(uint64_t journal_seq, const std::string& id,
                          const std::vector<std::string>& topics) {
  v1::Delivery delivery;
  delivery.set_journal_seq(journal_seq);
  *delivery.mutable_tagged() = testing::MakeTaggedArticle(id, topics);
  *delivery.mutable_tagged()->mutable_accepted_at() = TimeUtil::GetCurrentTime();
  return delivery;
}

class SinkStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_path_ = MakeTempDir() + "/store.db";
    ASSERT_THAT(ConfigureSocket(ingest_, 0), IsOk());
    ingest_.set(zmq::sockopt::rcvtimeo, kReceiveTimeoutMs);
    commit_endpoint_ = testing::BindLoopback(ingest_);
  }

  void TearDown() override { EXPECT_THAT(StopStage(), IsOk()); }

  // Opens the store at store_path_ and runs the stage on a thread until StopStage().
  void StartStage() {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store =
        SqliteStore::Open({.path = store_path_, .fsync = true, .max_bytes = store_max_bytes_});
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
    absl::StatusOr<Shutdown> shutdown = Shutdown::Manual();
    ASSERT_THAT(shutdown, IsOk());
    shutdown_ = std::make_unique<Shutdown>(*std::move(shutdown));
    registry_ = std::make_shared<prometheus::Registry>();
    readiness_ = NewSinkReadiness();
    options_.input_endpoint = "tcp://127.0.0.1:*";
    options_.stream_endpoint = "tcp://127.0.0.1:*";
    options_.history_endpoint = "tcp://127.0.0.1:*";
    options_.commit_endpoint = commit_endpoint_;
    options_.linger_ms = 0;
    options_.registry = registry_;
    options_.readiness = readiness_;
    auto bound = std::make_shared<std::promise<BoundEndpoints>>();
    options_.on_bound = [bound](const BoundEndpoints& endpoints) { bound->set_value(endpoints); };
    std::future<BoundEndpoints> endpoints = bound->get_future();
    stage_ = std::async(std::launch::async, [this, fd = shutdown_->fd()] {
      return RunStage(context_, options_, *store_, fd);
    });
    ASSERT_EQ(endpoints.wait_for(std::chrono::seconds(5)), std::future_status::ready)
        << "the stage did not bind its sockets";
    endpoints_ = endpoints.get();
  }

  // Stops the stage and closes the store; returns what RunStage returned.
  absl::Status StopStage() {
    if (!stage_.valid()) return absl::OkStatus();
    shutdown_->Trigger();
    if (stage_.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      ADD_FAILURE() << "the stage did not stop";
      std::abort();  // the thread still uses the fixture: cannot continue safely
    }
    absl::Status status = stage_.get();
    store_.reset();
    return status;
  }

  zmq::socket_t Connected(zmq::socket_type type, const std::string& endpoint) {
    zmq::socket_t socket(context_, type);
    EXPECT_THAT(ConfigureSocket(socket, 0), IsOk());
    socket.set(zmq::sockopt::rcvtimeo, kReceiveTimeoutMs);
    EXPECT_THAT(Connect(socket, endpoint), IsOk());
    return socket;
  }

  // A SUB on the streams, returned once the stage has seen all of `topics` subscribed: the
  // stream socket is an XPUB, so the stage counts subscriptions and the test waits on that
  // count instead of sleeping.
  zmq::socket_t Subscribe(const std::vector<std::string>& topics) {
    const double before = MetricValue(*registry_, "topicwire_sink_stream_subscriptions_total");
    zmq::socket_t subscriber = Connected(zmq::socket_type::sub, endpoints_.stream);
    for (const std::string& topic : topics) subscriber.set(zmq::sockopt::subscribe, topic);
    EXPECT_TRUE(WaitFor(
        [&] {
          return MetricValue(*registry_, "topicwire_sink_stream_subscriptions_total") >=
                 before + static_cast<double>(topics.size());
        },
        absl::Seconds(5)))
        << "the subscriptions did not reach the stage";
    return subscriber;
  }

  // The next published copy, checking that its topic frame names its stream.
  v1::TaggedArticle NextCopy(zmq::socket_t& subscriber) {
    Frames frames;
    absl::StatusOr<bool> got = RecvFrames(subscriber, frames);
    EXPECT_THAT(got, IsOk());
    if (!got.ok() || !*got) {
      ADD_FAILURE() << "no message on the stream";
      return {};
    }
    EXPECT_EQ(frames.size(), 2u);
    if (frames.size() != 2) return {};
    v1::TaggedArticle copy;
    EXPECT_THAT(ParseFrame(frames[1], copy), IsOk());
    EXPECT_EQ(frames[0].to_string(), copy.stream());
    return copy;
  }

  // Collects CommitAcks until every one of `journal_seqs` was acknowledged; returns
  // journal_seq -> article id.
  std::map<uint64_t, std::string> CollectAcks(const std::set<uint64_t>& journal_seqs) {
    std::map<uint64_t, std::string> acked;
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (absl::Now() < deadline) {
      bool all = true;
      for (uint64_t seq : journal_seqs) all = all && acked.contains(seq);
      if (all) break;
      Frames frames;
      absl::StatusOr<bool> got = RecvFrames(ingest_, frames);
      if (!got.ok() || !*got) break;
      v1::CommitAck ack;
      EXPECT_THAT(ParseFrame(frames.back(), ack), IsOk());
      for (const v1::CommitAck::Committed& committed : ack.committed()) {
        acked[committed.journal_seq()] = committed.article_id();
      }
    }
    return acked;
  }

  v1::HistoryReply AskHistory(zmq::socket_t& client, const v1::HistoryRequest& request) {
    EXPECT_THAT(SendProto(client, request), IsOk());
    return ReadReply(client);
  }

  v1::HistoryReply ReadReply(zmq::socket_t& client) {
    Frames frames;
    absl::StatusOr<bool> got = RecvFrames(client, frames);
    EXPECT_THAT(got, IsOk());
    v1::HistoryReply reply;
    if (!got.ok() || !*got || frames.size() != 1) {
      ADD_FAILURE() << "no single-frame history reply";
      return reply;
    }
    EXPECT_THAT(ParseFrame(frames[0], reply), IsOk());
    return reply;
  }

  void Deliver(zmq::socket_t& worker, const v1::Delivery& delivery) {
    ASSERT_THAT(SendProto(worker, delivery), IsOk());
  }

  zmq::context_t context_;
  zmq::socket_t ingest_{context_, zmq::socket_type::pull};
  std::string commit_endpoint_;
  std::string store_path_;
  int64_t store_max_bytes_ = 0;  // SqliteStoreOptions.max_bytes
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Shutdown> shutdown_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<Readiness> readiness_;
  SinkOptions options_;
  BoundEndpoints endpoints_;
  std::future<absl::Status> stage_;
};

std::vector<std::pair<std::string, uint64_t>> Positions(const std::vector<v1::TaggedArticle>& in) {
  std::vector<std::pair<std::string, uint64_t>> positions;
  for (const v1::TaggedArticle& copy : in)
    positions.emplace_back(copy.stream(), copy.stream_sequence());
  return positions;
}

TEST_F(SinkStageTest, PublishesOneCopyPerStreamAndAcknowledgesEveryDelivery) {
  ASSERT_NO_FATAL_FAILURE(StartStage());
  zmq::socket_t subscriber = Subscribe({"quantum", "ai", "untagged"});
  zmq::socket_t worker = Connected(zmq::socket_type::push, endpoints_.input);

  Deliver(worker, MakeDelivery(1, "a", {"quantum", "ai"}));
  Deliver(worker, MakeDelivery(2, "b", {}));
  Deliver(worker, MakeDelivery(3, "c", {"ai"}));
  Deliver(worker, MakeDelivery(4, "a", {"quantum", "ai"}));  // redelivered: stored already
  zmq::message_t garbage(std::string("\xff\xff\xff not a delivery"));
  ASSERT_TRUE(worker.send(garbage, zmq::send_flags::none));
  Deliver(worker, MakeDelivery(5, "", {"ai"}));  // no article id
  Frames two_frames;
  two_frames.push_back(ToFrame(MakeDelivery(7, "y", {"ai"})));
  two_frames.push_back(ToFrame(MakeDelivery(8, "x", {"ai"})));
  ASSERT_THAT(SendFrames(worker, two_frames), IsOk());  // one Delivery per message only
  Deliver(worker, MakeDelivery(6, "z", {"ai"}));        // the stage is still working

  std::vector<v1::TaggedArticle> copies;
  for (int i = 0; i < 5; ++i) copies.push_back(NextCopy(subscriber));
  EXPECT_THAT(Positions(copies), ElementsAre(Pair("quantum", 1u), Pair("ai", 1u),
                                             Pair("untagged", 1u), Pair("ai", 2u), Pair("ai", 3u)));
  EXPECT_EQ(copies[0].article().id(), "a");
  EXPECT_EQ(copies[0].sequence(), 1u);
  EXPECT_EQ(copies[1].sequence(), 1u);
  EXPECT_EQ(copies[2].article().id(), "b");
  EXPECT_EQ(copies[2].sequence(), 2u);
  EXPECT_EQ(copies[3].article().id(), "c");
  EXPECT_EQ(copies[4].article().id(), "z");  // no second copy of "a" came before it
  EXPECT_EQ(copies[4].sequence(), 4u);
  EXPECT_TRUE(copies[4].has_stored_at());

  std::map<uint64_t, std::string> acked = CollectAcks({1, 2, 3, 4, 6});
  EXPECT_THAT(acked, ElementsAre(Pair(1u, "a"), Pair(2u, "b"), Pair(3u, "c"), Pair(4u, "a"),
                                 Pair(6u, "z")));

  EXPECT_EQ(MetricValue(*registry_, "topicwire_sink_articles_stored_total"), 4);
  EXPECT_EQ(MetricValue(*registry_, "topicwire_sink_articles_duplicate_total"), 1);
  EXPECT_EQ(MetricValue(*registry_, "topicwire_sink_deliveries_malformed_total"), 3);
  EXPECT_EQ(MetricValue(*registry_, "topicwire_sink_messages_published_total"), 5);
  EXPECT_EQ(MetricValue(*registry_, "topicwire_sink_last_sequence"), 4);
  EXPECT_GE(MetricValue(*registry_, "topicwire_sink_store_commit_seconds"), 1);  // per batch
  EXPECT_GT(MetricValue(*registry_, "topicwire_sink_store_bytes"), 0);
  EXPECT_THAT(StopStage(), IsOk());
}

TEST_F(SinkStageTest, HistoryPagesForDealerAndReqClientsWithFilters) {
  ASSERT_NO_FATAL_FAILURE(StartStage());
  zmq::socket_t worker = Connected(zmq::socket_type::push, endpoints_.input);
  Deliver(worker, MakeDelivery(1, "a", {"quantum", "ai"}));
  Deliver(worker, MakeDelivery(2, "b", {}));
  Deliver(worker, MakeDelivery(3, "c", {"ai"}));
  ASSERT_EQ(CollectAcks({1, 2, 3}).size(), 3u);

  zmq::socket_t dealer = Connected(zmq::socket_type::dealer, endpoints_.history);
  v1::HistoryRequest request;
  request.set_limit(2);
  v1::HistoryReply first = AskHistory(dealer, request);
  EXPECT_THAT(first.error(), IsEmpty());
  EXPECT_THAT(Positions({first.messages().begin(), first.messages().end()}),
              ElementsAre(Pair("quantum", 1u), Pair("ai", 1u), Pair("untagged", 1u)));
  EXPECT_EQ(first.last_sequence(), 2u);
  EXPECT_FALSE(first.complete());
  EXPECT_EQ(first.head_sequence(), 3u);

  request.set_after_sequence(first.last_sequence());
  v1::HistoryReply second = AskHistory(dealer, request);
  EXPECT_THAT(Positions({second.messages().begin(), second.messages().end()}),
              ElementsAre(Pair("ai", 2u)));
  EXPECT_EQ(second.last_sequence(), 3u);
  EXPECT_TRUE(second.complete());

  zmq::socket_t req = Connected(zmq::socket_type::req, endpoints_.history);
  v1::HistoryRequest ai_only;
  ai_only.add_topics("ai");
  v1::HistoryReply filtered = AskHistory(req, ai_only);
  EXPECT_THAT(Positions({filtered.messages().begin(), filtered.messages().end()}),
              ElementsAre(Pair("ai", 1u), Pair("ai", 2u)));
  EXPECT_TRUE(filtered.complete());

  v1::HistoryRequest future;
  *future.mutable_since_time() = TimeUtil::GetCurrentTime() + TimeUtil::SecondsToDuration(3600);
  v1::HistoryReply nothing_yet = AskHistory(req, future);
  EXPECT_THAT(nothing_yet.messages(), IsEmpty());
  EXPECT_TRUE(nothing_yet.complete());
  EXPECT_EQ(nothing_yet.last_sequence(), 3u);

  v1::HistoryRequest past;
  *past.mutable_since_time() = TimeUtil::GetCurrentTime() - TimeUtil::SecondsToDuration(3600);
  EXPECT_EQ(AskHistory(req, past).messages_size(), 4);
}

TEST_F(SinkStageTest, CountsTheGapsSubscribersReportWithTheirHistoryRequests) {
  ASSERT_NO_FATAL_FAILURE(StartStage());
  zmq::socket_t worker = Connected(zmq::socket_type::push, endpoints_.input);
  Deliver(worker, MakeDelivery(1, "a", {"ai"}));
  Deliver(worker, MakeDelivery(2, "b", {"ai"}));
  Deliver(worker, MakeDelivery(3, "c", {"ai"}));
  ASSERT_EQ(CollectAcks({1, 2, 3}).size(), 3u);
  zmq::socket_t dealer = Connected(zmq::socket_type::dealer, endpoints_.history);

  v1::HistoryRequest fill;
  fill.set_after_sequence(1);
  fill.add_topics("ai");
  fill.mutable_gap()->set_stream("ai");
  fill.mutable_gap()->set_first_missing(2);
  fill.mutable_gap()->set_missed(1);
  EXPECT_EQ(AskHistory(dealer, fill).messages_size(), 2);
  // A stream this sink never published is counted, under "other"; a count above the number of
  // stored articles is capped at it.
  v1::HistoryRequest bogus;
  bogus.mutable_gap()->set_stream("no-such-stream");
  bogus.mutable_gap()->set_missed(1'000'000);
  EXPECT_THAT(AskHistory(dealer, bogus).error(), IsEmpty());
  // No report, no count.
  AskHistory(dealer, v1::HistoryRequest());

  EXPECT_EQ(MetricValue(*registry_, "topicwire_sink_subscriber_gaps_total", {{"stream", "ai"}}), 1);
  EXPECT_EQ(MetricValue(*registry_, "topicwire_sink_subscriber_missed_messages_total",
                        {{"stream", "ai"}}),
            1);
  EXPECT_EQ(MetricValue(*registry_, "topicwire_sink_subscriber_gaps_total", {{"stream", "other"}}),
            1);
  EXPECT_EQ(MetricValue(*registry_, "topicwire_sink_subscriber_missed_messages_total",
                        {{"stream", "other"}}),
            3);
  EXPECT_EQ(MetricValue(*registry_, "topicwire_sink_subscriber_gaps_total"), 2);
}

TEST_F(SinkStageTest, RefusesBadHistoryRequestsAndKeepsServing) {
  ASSERT_NO_FATAL_FAILURE(StartStage());
  zmq::socket_t req = Connected(zmq::socket_type::req, endpoints_.history);
  zmq::message_t garbage(std::string("\xff\xff\xff"));
  ASSERT_TRUE(req.send(garbage, zmq::send_flags::none));
  v1::HistoryReply refused = ReadReply(req);
  EXPECT_THAT(refused.error(), HasSubstr("HistoryRequest"));
  EXPECT_THAT(refused.messages(), IsEmpty());

  v1::HistoryRequest both;
  both.set_after_sequence(3);
  *both.mutable_since_time() = TimeUtil::GetCurrentTime();
  EXPECT_THAT(AskHistory(req, both).error(), HasSubstr("not both"));

  v1::HistoryReply fine = AskHistory(req, v1::HistoryRequest());
  EXPECT_THAT(fine.error(), IsEmpty());
  EXPECT_TRUE(fine.complete());
  EXPECT_EQ(MetricValue(*registry_, "topicwire_sink_history_errors_total"), 2);
}

TEST_F(SinkStageTest, RestartOnTheSameStoreContinuesSequences) {
  ASSERT_NO_FATAL_FAILURE(StartStage());
  {
    zmq::socket_t worker = Connected(zmq::socket_type::push, endpoints_.input);
    Deliver(worker, MakeDelivery(1, "a", {"ai"}));
    Deliver(worker, MakeDelivery(2, "b", {}));
    ASSERT_EQ(CollectAcks({1, 2}).size(), 2u);
  }
  ASSERT_THAT(StopStage(), IsOk());

  ASSERT_NO_FATAL_FAILURE(StartStage());
  zmq::socket_t subscriber = Subscribe({"ai"});
  zmq::socket_t worker = Connected(zmq::socket_type::push, endpoints_.input);
  Deliver(worker, MakeDelivery(3, "a", {"ai"}));  // redelivered after the restart
  Deliver(worker, MakeDelivery(4, "c", {"ai"}));
  v1::TaggedArticle copy = NextCopy(subscriber);
  EXPECT_EQ(copy.article().id(), "c");
  EXPECT_EQ(copy.sequence(), 3u);
  EXPECT_EQ(copy.stream_sequence(), 2u);
  EXPECT_THAT(CollectAcks({3, 4}), ElementsAre(Pair(3u, "a"), Pair(4u, "c")));
}

// k8s takes an unready sink out of its Service: while ingest restarts, subscribers and history
// clients must still reach it.
TEST_F(SinkStageTest, ReadyWhileIngestIsUnreachable) {
  // Nothing listens on the commit endpoint.
  const int port = topicwire::testing::FreeLoopbackPort();
  commit_endpoint_ = "tcp://127.0.0.1:" + std::to_string(port);
  ASSERT_NO_FATAL_FAILURE(StartStage());
  EXPECT_TRUE(WaitFor([&] { return readiness_->Ready().ok(); }, absl::Seconds(5)))
      << readiness_->Ready().ToString();
  zmq::socket_t dealer = Connected(zmq::socket_type::dealer, endpoints_.history);
  v1::HistoryReply reply = AskHistory(dealer, v1::HistoryRequest());
  EXPECT_TRUE(reply.complete());
  EXPECT_TRUE(readiness_->Ready().ok()) << readiness_->Ready().ToString();
}

TEST_F(SinkStageTest, StopsCleanlyWhenIdle) {
  ASSERT_NO_FATAL_FAILURE(StartStage());
  EXPECT_TRUE(WaitFor([&] { return readiness_->Ready().ok(); }, absl::Seconds(5)));
  EXPECT_THAT(StopStage(), IsOk());
  EXPECT_THAT(readiness_->Ready(), StatusIs(absl::StatusCode::kUnavailable));
}

// A store whose writes fail, as a full disk would.
class FailingStore : public Store {
 public:
  absl::StatusOr<std::vector<StoreOutcome>> StoreBatch(const std::vector<const v1::TaggedArticle*>&,
                                                       absl::Time) override {
    return absl::UnavailableError("disk full");
  }
  absl::StatusOr<HistoryPage> ReadHistory(const HistoryQuery&) override { return HistoryPage{}; }
  uint64_t head_sequence() const override { return 0; }
  absl::StatusOr<int64_t> SizeBytes() override { return 0; }
};

TEST_F(SinkStageTest, StopsWithTheErrorWhenTheStoreFailsAndAcknowledgesNothing) {
  FailingStore store;
  absl::StatusOr<Shutdown> shutdown = Shutdown::Manual();
  ASSERT_THAT(shutdown, IsOk());
  SinkOptions options;
  options.input_endpoint = "inproc://failing-store-input";
  options.stream_endpoint = "inproc://failing-store-stream";
  options.history_endpoint = "inproc://failing-store-history";
  // inproc: the stage's CommitAck PUSH has its pipe to us as soon as it connects, so an ack for
  // the failed batch could not be dropped for want of a connection (and go unseen).
  ASSERT_THAT(Bind(ingest_, "inproc://failing-store-commit"), IsOk());
  options.commit_endpoint = "inproc://failing-store-commit";
  // An ack queued before the stage returns must still reach us: with no linger, closing the
  // socket could discard it unsent.
  options.linger_ms = 2000;
  // inproc connect before bind is fine: the PUSH queues until the stage binds.
  zmq::socket_t worker = Connected(zmq::socket_type::push, options.input_endpoint);
  Deliver(worker, MakeDelivery(1, "a", {"ai"}));
  EXPECT_THAT(RunStage(context_, options, store, shutdown->fd()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("disk full")));
  // The socket is closed and its linger is over: whatever it sent has arrived or never will.
  ingest_.set(zmq::sockopt::rcvtimeo, 500);
  EXPECT_THAT(CollectAcks({1}), IsEmpty());
}

// Another file on the store's disk: fills the store past its max_bytes, and gives the space back
// when dropped (SQLite reuses the freed pages), as deleting a file frees a full disk.
class Ballast {
 public:
  static std::unique_ptr<Ballast> Fill(const std::string& store_path, int64_t bytes) {
    absl::StatusOr<std::unique_ptr<sqlite::Database>> db =
        sqlite::Database::Open(store_path, {.name = "ballast", .create = false});
    EXPECT_THAT(db, IsOk());
    if (!db.ok()) return nullptr;
    EXPECT_THAT((*db)->Exec(absl::StrCat("CREATE TABLE ballast(b BLOB); INSERT INTO ballast "
                                         "VALUES(zeroblob(",
                                         bytes, "))")),
                IsOk());
    return std::unique_ptr<Ballast>(new Ballast(*std::move(db)));
  }
  void Free() { EXPECT_THAT(db_->Exec("DROP TABLE ballast"), IsOk()); }

 private:
  explicit Ballast(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  std::unique_ptr<sqlite::Database> db_;
};

TEST_F(SinkStageTest, FullStoreHoldsDeliveriesUnacknowledgedAndStoresThemOnceWhenSpaceReturns) {
  store_max_bytes_ = 512 << 10;
  options_.store_full_retry_interval = absl::Milliseconds(50);
  ASSERT_NO_FATAL_FAILURE(StartStage());
  zmq::socket_t subscriber = Subscribe({"ai"});
  zmq::socket_t worker = Connected(zmq::socket_type::push, endpoints_.input);
  Deliver(worker, MakeDelivery(1, "before-full", {"ai"}));
  ASSERT_EQ(CollectAcks({1}).size(), 1u);
  EXPECT_EQ(NextCopy(subscriber).article().id(), "before-full");

  std::unique_ptr<Ballast> ballast = Ballast::Fill(store_path_, 1 << 20);
  ASSERT_NE(ballast, nullptr);
  constexpr int kHeld = 20;
  std::set<uint64_t> seqs;
  for (int i = 0; i < kHeld; ++i) {
    v1::Delivery delivery = MakeDelivery(100 + i, absl::StrCat("held-", i), {"ai"});
    delivery.mutable_tagged()->mutable_article()->set_body(std::string(8 << 10, 'b'));
    Deliver(worker, delivery);
    seqs.insert(100 + i);
  }
  ASSERT_TRUE(WaitFor([&] { return MetricValue(*registry_, "topicwire_sink_store_full") == 1; },
                      absl::Seconds(5)))
      << "the store never reported full";
  // Still running and serving: ready, with the reason on /readyz's detail line.
  EXPECT_THAT(readiness_->Ready(), IsOk());
  EXPECT_THAT(readiness_->detail(), HasSubstr("store is full"));
  EXPECT_TRUE(
      WaitFor([&] { return MetricValue(*registry_, "topicwire_sink_store_full_total") >= 3; },
              absl::Seconds(5)))
      << "the held batch is not retried";
  ingest_.set(zmq::sockopt::rcvtimeo, 300);
  EXPECT_THAT(CollectAcks(seqs), IsEmpty()) << "acknowledged while nothing could be stored";
  ingest_.set(zmq::sockopt::rcvtimeo, kReceiveTimeoutMs);
  zmq::socket_t history = Connected(zmq::socket_type::dealer, endpoints_.history);
  v1::HistoryRequest request;
  EXPECT_EQ(AskHistory(history, request).messages_size(), 1) << "history is served while full";
  ASSERT_TRUE(stage_.wait_for(std::chrono::seconds(0)) == std::future_status::timeout)
      << "the stage stopped on a full store";

  ballast->Free();
  EXPECT_EQ(CollectAcks(seqs).size(), seqs.size())
      << "held deliveries not stored after space returned";
  std::set<std::string> published;
  for (int i = 0; i < kHeld; ++i) published.insert(NextCopy(subscriber).article().id());
  EXPECT_EQ(published.size(), static_cast<size_t>(kHeld));
  EXPECT_EQ(MetricValue(*registry_, "topicwire_sink_store_full"), 0);
  EXPECT_EQ(readiness_->detail(), "");
  EXPECT_EQ(MetricValue(*registry_, "topicwire_sink_articles_stored_total"), kHeld + 1);
  // Redelivered copies (ingest's timeout while sink was full) are recognised, not stored again.
  Deliver(worker, MakeDelivery(100, "held-0", {"ai"}));
  ASSERT_EQ(CollectAcks({100}).size(), 1u);
  EXPECT_EQ(store_->head_sequence(), static_cast<uint64_t>(kHeld + 1));
}

TEST_F(SinkStageTest, FailsWhenAnEndpointCannotBeBound) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      SqliteStore::Open({.path = store_path_, .fsync = true});
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<Shutdown> shutdown = Shutdown::Manual();
  ASSERT_THAT(shutdown, IsOk());
  SinkOptions options;
  options.input_endpoint = "tcp://127.0.0.1:*";
  options.stream_endpoint = "nonsense://x";
  options.history_endpoint = "tcp://127.0.0.1:*";
  options.commit_endpoint = commit_endpoint_;
  EXPECT_THAT(RunStage(context_, options, **store, shutdown->fd()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("nonsense://x")));
}

}  // namespace
}  // namespace topicwire::sink
