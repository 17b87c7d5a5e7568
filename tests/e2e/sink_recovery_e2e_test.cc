// Sink's failures with the real binaries: a full store under load (backpressure to publishers
// through ingest, nothing lost, dead-lettered or duplicated, recovery on its own once space
// returns); a crash between a batch's commit and its publication (plain subscribers still get
// every copy live, once, in stream order); a replaced store (subscribe --resume notices the new
// epoch and prints what the new store holds).

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/sqlite.h"
#include "common/topology.h"
#include "common/zmq_channel.h"
#include "proto/article.pb.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/prelude.h"

namespace topicwire::e2e {
namespace {

using namespace ::topicwire::testing::prelude;

// Another file on sink's disk: a table in the store's database file that grows it past
// --max_store_bytes; dropping it frees the pages (SQLite reuses them), as deleting a file frees
// a full disk.
class Ballast {
 public:
  explicit Ballast(const std::string& store_path) {
    absl::StatusOr<std::unique_ptr<sqlite::Database>> db =
        sqlite::Database::Open(store_path, {.name = "ballast", .create = false});
    EXPECT_THAT(db, IsOk());
    if (db.ok()) db_ = *std::move(db);
  }
  void Fill(int64_t bytes) {
    ASSERT_NE(db_, nullptr);
    EXPECT_THAT(db_->Exec(absl::StrCat("CREATE TABLE ballast(b BLOB); INSERT INTO ballast "
                                       "VALUES(zeroblob(",
                                       bytes, "))")),
                IsOk());
  }
  void Free() {
    ASSERT_NE(db_, nullptr);
    EXPECT_THAT(db_->Exec("DROP TABLE ballast"), IsOk());
  }

 private:
  std::unique_ptr<sqlite::Database> db_;
};

TEST(SinkFullDiskE2eTest, FullStoreBacksUpToPublishersAndResumesWithNothingLostOrDeadLettered) {
  Pipeline pipeline(/*max_workers=*/1);
  const int ingest_http = pipeline.port(topology::Endpoint::kIngestHttp);
  const int sink_http = pipeline.port(topology::Endpoint::kSinkHttp);
  // Redelivery timeouts pass many times while sink is full; 2 counted attempts would make a
  // dead letter. A small --max_pending makes publishers feel the backpressure quickly.
  pipeline.StartIngest({"--redelivery_timeout=300ms", "--max_attempts=2", "--max_pending=40",
                        absl::StrCat("--http_listen=127.0.0.1:", ingest_http)});
  pipeline.StartSink({"--max_store_bytes=1048576", "--store_full_retry_interval=100ms",
                      absl::StrCat("--http_listen=127.0.0.1:", sink_http)});
  pipeline.StartWorker(0);
  zmq::context_t context(1);
  ASSERT_THAT(PublishArticle(context, pipeline.publish_endpoint(), MakeArticle("before-full")),
              IsOk());
  ASSERT_TRUE(WaitUntilStoredOnce(context, pipeline.history_endpoint(), "before-full"))
      << pipeline.Logs();

  Ballast ballast(topology::StorePath(pipeline.dir()));
  ASSERT_NO_FATAL_FAILURE(ballast.Fill(2 << 20));
  // Publish until ingest answers BUSY: sink stopped taking deliveries, ingest's pending filled.
  const std::string body(8 << 10, 'f');
  std::set<std::string> accepted;
  int next = 0;
  auto publish_next = [&](int count) -> std::optional<v1::PublishAck> {
    v1::PublishRequest request;
    for (int i = 0; i < count; ++i) {
      v1::Article article = MakeArticle(absl::StrCat("full-", next + i));
      article.set_body(absl::StrCat(article.body(), body));
      *request.add_articles() = article;
    }
    absl::StatusOr<v1::PublishReply> reply =
        PublishOnce(context, pipeline.publish_endpoint(), request);
    EXPECT_THAT(reply, IsOk());
    if (!reply.ok()) return std::nullopt;
    std::optional<v1::PublishAck> busy;
    for (const v1::PublishAck& ack : reply->acks()) {
      if (ack.status() == v1::PublishAck::ACCEPTED) {
        accepted.insert(ack.id());
        ++next;
      } else {
        EXPECT_EQ(ack.status(), v1::PublishAck::BUSY) << ack.reason();
        if (!busy.has_value()) busy = ack;
      }
    }
    return busy;
  };
  std::optional<v1::PublishAck> busy;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!busy.has_value() && absl::Now() < deadline) busy = publish_next(10);
  ASSERT_TRUE(busy.has_value()) << "ingest never answered BUSY\n" << pipeline.Logs();
  std::cerr << accepted.size() << " articles accepted before BUSY: " << busy->reason() << "\n";
  EXPECT_TRUE(WaitFor([&] { return MetricSample(sink_http, "topicwire_sink_store_full") == 1; },
                      absl::Seconds(10)));
  // Several redelivery timeouts at the live worker pass; none may use up an attempt.
  const double redeliveries = MetricSample(ingest_http, "topicwire_ingest_redeliveries_total");
  EXPECT_TRUE(WaitFor(
      [&] {
        return MetricSample(ingest_http, "topicwire_ingest_redeliveries_total") >=
               redeliveries + 3 * 40;
      },
      absl::Seconds(10)));
  EXPECT_EQ(MetricSample(ingest_http, "topicwire_ingest_dead_letters"), 0)
      << "articles dead-lettered because sink's disk was full";
  EXPECT_EQ(pipeline.process("sink").Poll(), std::nullopt) << "sink exited on a full disk";

  ASSERT_NO_FATAL_FAILURE(ballast.Free());
  // The pipeline resumes by itself: publishing goes on until 60 more are accepted.
  const size_t target = accepted.size() + 60;
  while (accepted.size() < target && absl::Now() < deadline + absl::Seconds(30)) {
    if (publish_next(10).has_value()) absl::SleepFor(absl::Milliseconds(50));  // BUSY: retry
  }
  ASSERT_GE(accepted.size(), target) << "publishing never resumed\n" << pipeline.Logs();
  std::map<std::string, int> stored;
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<std::vector<v1::TaggedArticle>> history =
            ReadHistory(context, pipeline.history_endpoint());
        if (!history.ok()) return false;
        stored = StoredCounts(*history);
        for (const std::string& id : accepted) {
          if (!stored.contains(id)) return false;
        }
        return true;
      },
      absl::Seconds(30)))
      << "accepted articles lost\n"
      << pipeline.Logs();
  for (const auto& [id, copies] : stored) EXPECT_EQ(copies, 1) << id << " stored more than once";
  EXPECT_EQ(MetricSample(ingest_http, "topicwire_ingest_dead_letters"), 0);
  EXPECT_EQ(MetricSample(sink_http, "topicwire_sink_store_full"), 0);
}

TEST(SinkCrashE2eTest, CrashBetweenCommitAndPublishStillPublishesEveryCopyOnceInOrder) {
  Pipeline pipeline(/*max_workers=*/1);
  pipeline.StartIngest({"--redelivery_timeout=500ms"});
  pipeline.StartSink({"--test_crash_after_storing=crash-1", "--startup_publish_delay=1500ms"});
  pipeline.StartWorker(0);
  zmq::context_t context(1);
  StreamCollector subscriber(context, pipeline.stream_endpoint());
  // Probes until one reaches the subscriber: everything is up and subscribed.
  int probes = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string id = absl::StrCat("probe-", probes++);
        if (!PublishArticle(context, pipeline.publish_endpoint(), MakeArticle(id)).ok()) {
          return false;
        }
        return subscriber.ReceiveUntil(id, absl::Milliseconds(500));
      },
      absl::Seconds(30)))
      << pipeline.Logs();

  ASSERT_THAT(PublishArticle(context, pipeline.publish_endpoint(), MakeArticle("crash-1")), IsOk());
  absl::StatusOr<int> exited = pipeline.process("sink").Wait(absl::Seconds(20));
  ASSERT_THAT(exited, IsOk()) << "sink did not crash after storing crash-1\n" << pipeline.Logs();
  // Restarted without the crash: crash-1 is stored but was never published, and ingest's
  // redelivery of it finds it already stored.
  pipeline.StartSink({"--startup_publish_delay=1500ms"});
  ASSERT_TRUE(WaitUntilStoredOnce(context, pipeline.history_endpoint(), "crash-1"))
      << pipeline.Logs();
  EXPECT_TRUE(subscriber.ReceiveUntil("crash-1", absl::Seconds(10)))
      << "the copy stored before the crash never went out live\n"
      << pipeline.Logs();
  ASSERT_THAT(PublishArticle(context, pipeline.publish_endpoint(), MakeArticle("after-1")), IsOk());
  ASSERT_TRUE(subscriber.ReceiveUntil("after-1", absl::Seconds(20))) << pipeline.Logs();

  // Live copies are exactly what the store's streams say: per stream 1, 2, 3... with no gap
  // and no duplicate, the same articles at the same positions.
  absl::StatusOr<std::vector<v1::TaggedArticle>> history =
      ReadHistory(context, pipeline.history_endpoint());
  ASSERT_THAT(history, IsOk());
  std::map<std::string, std::vector<std::pair<uint64_t, std::string>>> live, stored;
  for (const v1::TaggedArticle& copy : subscriber.copies()) {
    live[copy.stream()].emplace_back(copy.stream_sequence(), copy.article().id());
  }
  for (const v1::TaggedArticle& copy : *history) {
    stored[copy.stream()].emplace_back(copy.stream_sequence(), copy.article().id());
  }
  // Probes published before the subscription reached sink are in history only.
  for (auto& [stream, copies] : stored) {
    auto received = live.find(stream);
    const uint64_t first_live = received == live.end() || received->second.empty()
                                    ? UINT64_MAX
                                    : received->second.front().first;
    std::erase_if(copies, [&](const auto& copy) {
      return copy.first < first_live && copy.second.rfind("probe-", 0) == 0;
    });
  }
  std::erase_if(stored, [](const auto& stream) { return stream.second.empty(); });
  EXPECT_EQ(live, stored);
}

TEST(SinkStoreEpochE2eTest, ResumeAfterTheStoreWasReplacedSaysSoAndPrintsTheNewStore) {
  Pipeline pipeline(/*max_workers=*/1);
  pipeline.StartIngest();
  pipeline.StartSink();
  pipeline.StartWorker(0);
  zmq::context_t context(1);
  for (const char* id : {"old-1", "old-2", "old-3"}) {
    ASSERT_THAT(PublishArticle(context, pipeline.publish_endpoint(), MakeArticle(id)), IsOk());
    ASSERT_TRUE(WaitUntilStoredOnce(context, pipeline.history_endpoint(), id)) << pipeline.Logs();
  }
  const std::string position = pipeline.dir() + "/position.txt";
  const std::vector<std::string> subscribe = {"subscribe",
                                              "--from",
                                              pipeline.stream_endpoint(),
                                              "--history",
                                              pipeline.history_endpoint(),
                                              "--resume",
                                              position,
                                              "--format",
                                              "text",
                                              "--timeout",
                                              "3"};
  std::vector<std::string> first = subscribe;
  first.insert(first.end(), {"--since", "0", "--count", "3"});
  const std::string first_log = pipeline.dir() + "/logs/subscribe-1.log";
  ASSERT_EQ(RunCli(first, first_log), 0) << ReadFile(first_log);
  EXPECT_THAT(ReadFile(first_log), HasSubstr("old-3"));

  // The store is replaced by a new, smaller one: its sequences are all at or below the saved
  // positions.
  ASSERT_THAT(pipeline.Stop("sink", SIGTERM, absl::Seconds(20)), IsOk());
  const std::string store = topology::StorePath(pipeline.dir());
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(store + suffix);
  pipeline.StartSink();
  for (const char* id : {"new-1", "new-2"}) {
    ASSERT_THAT(PublishArticle(context, pipeline.publish_endpoint(), MakeArticle(id)), IsOk());
    ASSERT_TRUE(WaitUntilStoredOnce(context, pipeline.history_endpoint(), id)) << pipeline.Logs();
  }
  std::vector<std::string> second = subscribe;
  second.insert(second.end(), {"--count", "2"});
  const std::string second_log = pipeline.dir() + "/logs/subscribe-2.log";
  EXPECT_EQ(RunCli(second, second_log), 0) << ReadFile(second_log);
  const std::string printed = ReadFile(second_log);
  EXPECT_THAT(printed, HasSubstr("sink's store changed"));
  EXPECT_THAT(printed, HasSubstr("new-1"));
  EXPECT_THAT(printed, HasSubstr("new-2"));
  EXPECT_THAT(printed, Not(HasSubstr("old-")));
}

}  // namespace
}  // namespace topicwire::e2e
