// The classify stage against a fake ingest (ROUTER) and a fake sink (PULL) on real loopback
// sockets: credit, Delivery, heartbeats, goodbye, reconnect after silence, held credit while sink
// is away.
#include "classify/classify_stage.h"

#include <future>

#include "absl/strings/str_cat.h"
#include "common/shutdown.h"
#include "common/zmq_channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/internal.pb.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_util.h"

namespace topicwire::classify {
namespace {

using ::testing::SizeIs;
using ::topicwire::testing::IsOk;

constexpr char kTaxonomy[] = R"pb(
  version: "stage-test-1"
  topics {
    id: "quantum"
    terms { text: "quantum" }
  }
)pb";

// Receives one message within `timeout`; false when none came.
bool RecvWithin(zmq::socket_t& socket, Frames& frames, absl::Duration timeout) {
  std::vector<zmq::pollitem_t> items = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
  absl::StatusOr<int> ready = Poll(items, timeout);
  if (!ready.ok() || *ready == 0) return false;
  absl::StatusOr<bool> got = RecvFrames(socket, frames, /*dont_wait=*/true);
  return got.ok() && *got;
}

class ClassifyStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(shutdown_, IsOk());
    absl::StatusOr<std::unique_ptr<Classifier>> classifier = Classifier::FromText(kTaxonomy);
    ASSERT_THAT(classifier, IsOk());
    classifier_ = *std::move(classifier);
    ASSERT_THAT(ConfigureSocket(ingest_, 0), IsOk());
    ASSERT_THAT(ConfigureSocket(sink_, 0), IsOk());
    ASSERT_THAT(Bind(ingest_, "tcp://127.0.0.1:*"), IsOk());
    absl::StatusOr<std::string> work = LastEndpoint(ingest_);
    ASSERT_THAT(work, IsOk());
    options_.work_endpoint = *work;
    options_.credit = 4;
    options_.heartbeat_interval = absl::Milliseconds(100);
    options_.linger_ms = 1000;
    options_.health = health_;
  }

  void TearDown() override {
    if (stage_.valid()) {
      shutdown_->Trigger();
      EXPECT_THAT(stage_.get(), IsOk());
    }
  }

  void BindSink() {
    ASSERT_THAT(Bind(sink_, "tcp://127.0.0.1:*"), IsOk());
    absl::StatusOr<std::string> endpoint = LastEndpoint(sink_);
    ASSERT_THAT(endpoint, IsOk());
    options_.sink_endpoint = *endpoint;
  }

  void StartStage() {
    stage_ = std::async(std::launch::async, [this] {
      return RunStage(context_, options_, *classifier_, shutdown_->fd());
    });
  }

  // The next WorkerMessage from the worker that is not a heartbeat; remembers its identity.
  std::optional<v1::WorkerMessage> NextControl(absl::Duration timeout = absl::Seconds(5)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      Frames frames;
      if (!RecvWithin(ingest_, frames, deadline - absl::Now())) break;
      if (frames.size() != 2) {
        ADD_FAILURE() << "worker sent " << frames.size() << " frames (want identity + message)";
        continue;
      }
      identity_ = frames[0].to_string();
      v1::WorkerMessage message;
      EXPECT_THAT(ParseFrame(frames[1], message), IsOk());
      if (message.has_heartbeat()) {
        ++heartbeats_;
        if (answer_heartbeats_) SendToWorker("");  // like ingest: an empty Dispatch
        continue;
      }
      return message;
    }
    return std::nullopt;
  }

  void SendToWorker(const std::string& payload) {
    Frames frames;
    frames.emplace_back(identity_.data(), identity_.size());
    frames.emplace_back(payload.data(), payload.size());
    ASSERT_THAT(SendFrames(ingest_, frames), IsOk());
  }

  void Dispatch(uint64_t journal_seq, const std::string& body, bool with_article = true) {
    v1::Dispatch dispatch;
    v1::WorkItem* item = dispatch.add_items();
    item->set_journal_seq(journal_seq);
    item->set_attempt(1);
    item->mutable_accepted_at()->set_seconds(1700000000);
    if (with_article) {
      item->mutable_article()->set_id(absl::StrCat("article-", journal_seq));
      item->mutable_article()->set_body(body);
    }
    SendToWorker(dispatch.SerializeAsString());
  }

  std::optional<v1::Delivery> NextDelivery(absl::Duration timeout = absl::Seconds(5)) {
    Frames frames;
    if (!RecvWithin(sink_, frames, timeout)) return std::nullopt;
    EXPECT_THAT(frames, SizeIs(1));
    v1::Delivery delivery;
    EXPECT_THAT(ParseFrame(frames[0], delivery), IsOk());
    return delivery;
  }

  zmq::context_t context_;
  zmq::socket_t ingest_{context_, zmq::socket_type::router};
  zmq::socket_t sink_{context_, zmq::socket_type::pull};
  absl::StatusOr<Shutdown> shutdown_ = Shutdown::Manual();
  std::unique_ptr<Classifier> classifier_;
  std::shared_ptr<ClassifyHealth> health_ = std::make_shared<ClassifyHealth>();
  StageOptions options_;
  std::future<absl::Status> stage_;
  std::string identity_;
  int heartbeats_ = 0;
  bool answer_heartbeats_ = false;
};

TEST_F(ClassifyStageTest, GrantsCreditTagsDeliversAndSaysGoodbye) {
  BindSink();
  StartStage();
  std::optional<v1::WorkerMessage> credit = NextControl();
  ASSERT_TRUE(credit.has_value());
  ASSERT_TRUE(credit->has_credit());
  EXPECT_EQ(credit->credit().credit(), 4u);

  Dispatch(7, "A quantum sensor.");
  std::optional<v1::Delivery> delivery = NextDelivery();
  ASSERT_TRUE(delivery.has_value());
  EXPECT_EQ(delivery->journal_seq(), 7u);
  const v1::TaggedArticle& tagged = delivery->tagged();
  EXPECT_EQ(tagged.article().id(), "article-7");
  ASSERT_THAT(tagged.tags(), SizeIs(1));
  EXPECT_EQ(tagged.tags(0).topic(), "quantum");
  EXPECT_EQ(tagged.taxonomy_version(), "stage-test-1");
  EXPECT_EQ(tagged.accepted_at().seconds(), 1700000000);
  EXPECT_GT(tagged.classified_at().seconds(), 1700000000);

  std::optional<v1::WorkerMessage> returned = NextControl();
  ASSERT_TRUE(returned.has_value());
  ASSERT_TRUE(returned->has_credit());
  EXPECT_EQ(returned->credit().credit(), 1u);
  EXPECT_TRUE(
      ::topicwire::testing::WaitFor([&] { return health_->Ready().ok(); }, absl::Seconds(5)))
      << health_->Ready();

  shutdown_->Trigger();
  std::optional<v1::WorkerMessage> goodbye = NextControl();
  ASSERT_TRUE(goodbye.has_value());
  EXPECT_TRUE(goodbye->goodbye());
  EXPECT_THAT(stage_.get(), IsOk());
}

TEST_F(ClassifyStageTest, HeartbeatsAndSurvivesMalformedFrames) {
  BindSink();
  StartStage();
  ASSERT_TRUE(NextControl().has_value());  // the initial credit
  SendToWorker("\xff\xff not a Dispatch");
  SendToWorker("");  // an empty Dispatch: ingest's heartbeat
  Dispatch(1, "nothing to see");
  std::optional<v1::Delivery> delivery = NextDelivery();
  ASSERT_TRUE(delivery.has_value());
  EXPECT_THAT(delivery->tagged().tags(), SizeIs(0));
  // Keep ingest's side alive while waiting for the worker's own heartbeats.
  EXPECT_TRUE(::topicwire::testing::WaitFor(
      [&] {
        SendToWorker("");
        NextControl(absl::Milliseconds(50));
        return heartbeats_ >= 2;
      },
      absl::Seconds(5)));
}

TEST_F(ClassifyStageTest, ItemWithoutArticleIsReportedFailed) {
  BindSink();
  StartStage();
  ASSERT_TRUE(NextControl().has_value());
  Dispatch(9, "", /*with_article=*/false);
  std::optional<v1::WorkerMessage> failed = NextControl();
  ASSERT_TRUE(failed.has_value());
  ASSERT_TRUE(failed->has_failed());
  EXPECT_EQ(failed->failed().journal_seq(), 9u);
  std::optional<v1::WorkerMessage> credit = NextControl();
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->credit().credit(), 1u);
}

TEST_F(ClassifyStageTest, ReconnectsWithFreshSocketAndFullCreditWhenIngestIsSilent) {
  BindSink();
  StartStage();
  std::optional<v1::WorkerMessage> first = NextControl();
  ASSERT_TRUE(first.has_value());
  const std::string first_identity = identity_;
  // Say nothing: after 3 heartbeat intervals the worker must come back on a new socket.
  std::optional<v1::WorkerMessage> again = NextControl();
  ASSERT_TRUE(again.has_value());
  ASSERT_TRUE(again->has_credit());
  EXPECT_EQ(again->credit().credit(), 4u);
  EXPECT_NE(identity_, first_identity);
  EXPECT_FALSE(health_->ingest_connected());
}

TEST_F(ClassifyStageTest, RegistersAgainWhenARestartedIngestAnswersHeartbeats) {
  BindSink();
  // Long liveness: only the reconnect handshake, not silence, can trigger the new grant.
  options_.heartbeat_interval = absl::Seconds(1);
  answer_heartbeats_ = true;
  StartStage();
  ASSERT_TRUE(NextControl().has_value());
  const std::string first_identity = identity_;

  // ingest restarts on the same port: the old socket goes, a new one binds.
  ingest_ = zmq::socket_t(context_, zmq::socket_type::router);
  ASSERT_THAT(ConfigureSocket(ingest_, 0), IsOk());
  ASSERT_TRUE(::topicwire::testing::WaitFor(
      [&] { return Bind(ingest_, options_.work_endpoint).ok(); }, absl::Seconds(5)));
  // The new ingest answers the worker's heartbeats, so the worker keeps hearing from "ingest";
  // it must still notice the new connection and grant its credit again.
  std::optional<v1::WorkerMessage> again = NextControl(absl::Milliseconds(2500));
  ASSERT_TRUE(again.has_value());
  ASSERT_TRUE(again->has_credit());
  EXPECT_EQ(again->credit().credit(), 4u);
  EXPECT_NE(identity_, first_identity);
}

TEST_F(ClassifyStageTest, HoldsCreditWhileSinkIsUnreachable) {
  const int port = ::topicwire::testing::FreeLoopbackPort();
  options_.sink_endpoint = absl::StrCat("tcp://127.0.0.1:", port);
  options_.heartbeat_interval = absl::Seconds(1);  // no reconnect during the quiet wait below
  StartStage();
  ASSERT_TRUE(NextControl().has_value());
  Dispatch(3, "quantum");
  // No sink yet: the Delivery waits in the worker and no credit comes back (heartbeats only).
  EXPECT_FALSE(NextControl(absl::Milliseconds(300)).has_value());
  EXPECT_FALSE(health_->sink_connected());
  ASSERT_THAT(Bind(sink_, options_.sink_endpoint), IsOk());
  std::optional<v1::Delivery> delivery = NextDelivery();
  ASSERT_TRUE(delivery.has_value());
  EXPECT_EQ(delivery->journal_seq(), 3u);
  std::optional<v1::WorkerMessage> credit = NextControl();
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->credit().credit(), 1u);
  EXPECT_TRUE(
      ::topicwire::testing::WaitFor([&] { return health_->sink_connected(); }, absl::Seconds(5)));
}

TEST_F(ClassifyStageTest, RefusesZeroCredit) {
  BindSink();
  options_.credit = 0;
  EXPECT_THAT(RunStage(context_, options_, *classifier_, shutdown_->fd()),
              ::topicwire::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace topicwire::classify
