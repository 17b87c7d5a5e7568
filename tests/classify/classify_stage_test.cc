// The classify stage against a fake ingest (ROUTER) and a fake sink (PULL) on real loopback
// sockets: credit, Delivery, heartbeats, goodbye, reconnect after silence, held credit while sink
// is away.
#include "classify/classify_stage.h"

#include <cstdio>
#include <fstream>
#include <future>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/shutdown.h"
#include "common/zmq_channel.h"
#include "proto/internal.pb.h"
#include "tests/testing/metric_values.h"
#include "tests/testing/prelude.h"
#include "tests/testing/zmq_test_util.h"

namespace topicwire::classify {
namespace {

using namespace ::topicwire::testing::prelude;
using ::topicwire::testing::MetricValue;

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
    options_.work_endpoint = testing::BindLoopback(ingest_);
    options_.credit = 4;
    options_.heartbeat_interval = absl::Milliseconds(100);
    options_.linger_ms = 1000;
    options_.readiness = readiness_;
  }

  void TearDown() override {
    if (stage_.valid()) {
      shutdown_->Trigger();
      EXPECT_THAT(stage_.get(), IsOk());
    }
  }

  void BindSink() { options_.sink_endpoint = testing::BindLoopback(sink_); }

  void StartStage() {
    stage_ = std::async(std::launch::async, [this] {
      return RunStage(context_, options_, *classifier_, shutdown_->fd());
    });
  }

  // The next WorkerMessage from the worker that is not a heartbeat (or is, when asked to return
  // those too); remembers its identity.
  std::optional<v1::WorkerMessage> NextControl(absl::Duration timeout = absl::Seconds(5),
                                               bool return_heartbeats = false) {
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
        if (!return_heartbeats) continue;
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
  std::shared_ptr<Readiness> readiness_ = NewClassifyReadiness();
  ClassifyOptions options_;
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
      ::topicwire::testing::WaitFor([&] { return readiness_->Ready().ok(); }, absl::Seconds(5)))
      << readiness_->Ready();

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
  EXPECT_FALSE(readiness_->IsMet(kIngestConnected));
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
  // No sink yet: the Delivery waits in the worker and no credit comes back for it. The marker: an
  // item without an article is answered (failed, then its credit) at once, and the worker's next
  // heartbeat after that answer goes out after the loop pass that handled article 3 ended, so a
  // credit for article 3 arrives before that heartbeat however slow the worker is.
  Dispatch(4, "", /*with_article=*/false);
  std::vector<v1::WorkerMessage> answers;
  bool answered_4 = false;
  bool marker = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!marker && absl::Now() < deadline) {
    std::optional<v1::WorkerMessage> next =
        NextControl(deadline - absl::Now(), /*return_heartbeats=*/true);
    if (!next.has_value()) break;
    if (next->has_heartbeat()) {
      marker = answered_4;
      continue;
    }
    if (next->has_failed() && next->failed().journal_seq() == 4u) answered_4 = true;
    answers.push_back(*next);
  }
  ASSERT_TRUE(answered_4) << "the item without an article was never answered";
  ASSERT_TRUE(marker) << "no heartbeat followed the answer";
  ASSERT_EQ(answers.size(), 2u) << "credit came back for the Delivery no sink took";
  EXPECT_TRUE(answers[0].has_failed());
  EXPECT_EQ(answers[1].credit().credit(), 1u);
  EXPECT_FALSE(readiness_->IsMet(kSinkConnected));
  ASSERT_THAT(Bind(sink_, options_.sink_endpoint), IsOk());
  std::optional<v1::Delivery> delivery = NextDelivery();
  ASSERT_TRUE(delivery.has_value());
  EXPECT_EQ(delivery->journal_seq(), 3u);
  std::optional<v1::WorkerMessage> credit = NextControl();
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->credit().credit(), 1u);
  EXPECT_TRUE(::topicwire::testing::WaitFor([&] { return readiness_->IsMet(kSinkConnected); },
                                            absl::Seconds(5)));
}

TEST_F(ClassifyStageTest, RefusesZeroCredit) {
  BindSink();
  options_.credit = 0;
  EXPECT_THAT(RunStage(context_, options_, *classifier_, shutdown_->fd()),
              ::topicwire::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

// Hot reload: writes `text` to the taxonomy file atomically (rename), as an editor or a
// ConfigMap update would.
void WriteTaxonomy(const std::string& path, const std::string& text) {
  {
    std::ofstream out(path + ".tmp");
    out << text;
  }
  ASSERT_EQ(std::rename((path + ".tmp").c_str(), path.c_str()), 0);
}

constexpr char kReloadV1[] = R"pb(
  version: "reload-1"
  topics {
    id: "quantum"
    terms { text: "quantum" }
  }
)pb";

constexpr char kReloadV2[] = R"pb(
  version: "reload-2"
  topics {
    id: "quantum"
    terms { text: "quantum" }
  }
  topics {
    id: "space"
    terms { text: "rocket" }
  }
)pb";

// The version label of topicwire_classify_taxonomy_info (the only series), or "".
std::string TaxonomyInfoVersion(prometheus::Registry& registry) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != "topicwire_classify_taxonomy_info") continue;
    if (family.metric.size() != 1) return absl::StrCat(family.metric.size(), " series");
    for (const prometheus::ClientMetric::Label& label : family.metric[0].label) {
      if (label.name == "version") return label.value;
    }
  }
  return "";
}

class ClassifyReloadTest : public ClassifyStageTest {
 protected:
  void StartWithFile(absl::Duration check_interval, int reload_fd) {
    path_ = topicwire::testing::MakeTempDir() + "/taxonomy.textproto";
    WriteTaxonomy(path_, kReloadV1);
    absl::StatusOr<std::unique_ptr<Classifier>> loaded = Classifier::FromFile(path_);
    ASSERT_THAT(loaded, IsOk());
    options_.taxonomy_path = path_;
    options_.reload_fd = reload_fd;
    options_.taxonomy_check_interval = check_interval;
    options_.registry = registry_;
    BindSink();
    std::shared_ptr<const Classifier> classifier(*std::move(loaded));
    stage_ = std::async(std::launch::async, [this, classifier] {
      return RunStage(context_, options_, classifier, shutdown_->fd());
    });
    ASSERT_TRUE(NextControl().has_value());  // the initial credit
  }

  // Sends one article mentioning both topics and returns its Delivery's tagged article.
  v1::TaggedArticle TagOne(uint64_t journal_seq) {
    Dispatch(journal_seq, "A quantum sensor rides on a rocket.");
    std::optional<v1::Delivery> delivery = NextDelivery();
    EXPECT_TRUE(delivery.has_value()) << "journal_seq " << journal_seq;
    if (!delivery.has_value()) return {};
    EXPECT_EQ(delivery->journal_seq(), journal_seq);
    return delivery->tagged();
  }

  std::string path_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  absl::StatusOr<Shutdown> reload_ = Shutdown::Manual();  // an eventfd standing in for SIGHUP
};

TEST_F(ClassifyReloadTest, SwapsOnSignalWithAStreamRunningAndRefusesABadFile) {
  ASSERT_THAT(reload_, IsOk());
  StartWithFile(absl::ZeroDuration(), reload_->fd());
  EXPECT_THAT(readiness_->detail(), ::testing::HasSubstr("reload-1"));
  constexpr int kArticles = 120;
  int old_count = 0, new_count = 0;
  bool swapped = false;
  for (int seq = 1; seq <= kArticles; ++seq) {
    if (seq == 20) {
      WriteTaxonomy(path_, kReloadV2);
      reload_->Trigger();  // the stream keeps running while the worker reloads
    }
    const v1::TaggedArticle tagged = TagOne(seq);
    // Wholly one version: the old one finds one topic, the new one two.
    if (tagged.taxonomy_version() == "reload-1") {
      EXPECT_FALSE(swapped) << "journal_seq " << seq
                            << " tagged by the old taxonomy after the swap";
      EXPECT_EQ(tagged.tags_size(), 1);
      ++old_count;
    } else {
      EXPECT_EQ(tagged.taxonomy_version(), "reload-2");
      EXPECT_EQ(tagged.tags_size(), 2) << "journal_seq " << seq;
      swapped = true;
      ++new_count;
    }
  }
  EXPECT_EQ(old_count + new_count, kArticles);  // none dropped
  EXPECT_GE(old_count, 19);
  EXPECT_GT(new_count, 0);
  EXPECT_EQ(TaxonomyInfoVersion(*registry_), "reload-2");
  EXPECT_THAT(readiness_->detail(), ::testing::HasSubstr("reload-2 (reloads: 1 ok, 0"));

  // A broken file is refused: the old taxonomy keeps serving, and the refusal is counted.
  WriteTaxonomy(path_, "topics { id: \"x\" terms { regex: \"(unclosed\" } }\n");
  reload_->Trigger();
  EXPECT_TRUE(::topicwire::testing::WaitFor(
      [&] { return absl::StrContains(readiness_->detail(), "1 refused"); }, absl::Seconds(5)))
      << readiness_->detail();
  const v1::TaggedArticle after = TagOne(kArticles + 1);
  EXPECT_EQ(after.taxonomy_version(), "reload-2");
  EXPECT_EQ(after.tags_size(), 2);
  EXPECT_EQ(TaxonomyInfoVersion(*registry_), "reload-2");

  // The counters and the latency histogram moved once per article and once per tag. The worker
  // observes latency just after handing the Delivery over, so wait for the last observation.
  EXPECT_TRUE(::topicwire::testing::WaitFor(
      [&] {
        return MetricValue(*registry_, "topicwire_classify_latency_seconds") == kArticles + 1;
      },
      absl::Seconds(5)));
  EXPECT_EQ(MetricValue(*registry_, "topicwire_classify_articles_total"), kArticles + 1);
  EXPECT_EQ(MetricValue(*registry_, "topicwire_classify_tags_total"),
            old_count + 2 * new_count + 2);
}

TEST_F(ClassifyReloadTest, ReloadsWhenTheFileChanges) {
  StartWithFile(absl::Milliseconds(20), /*reload_fd=*/-1);
  EXPECT_EQ(TagOne(1).taxonomy_version(), "reload-1");
  WriteTaxonomy(path_, kReloadV2);
  uint64_t seq = 2;
  EXPECT_TRUE(::topicwire::testing::WaitFor(
      [&] { return TagOne(seq++).taxonomy_version() == "reload-2"; }, absl::Seconds(5)));
  EXPECT_EQ(TaxonomyInfoVersion(*registry_), "reload-2");
}

}  // namespace
}  // namespace topicwire::classify
