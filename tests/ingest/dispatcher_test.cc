// The Dispatcher alone: no sockets, an in-memory journal, time passed in by the test.
#include "ingest/dispatcher.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/time_util.h"
#include "ingest/ingest_metrics.h"
#include "ingest/journal.h"
#include "prometheus/registry.h"
#include "proto/article.pb.h"
#include "proto/internal.pb.h"
#include "tests/testing/prelude.h"

namespace topicwire::ingest {
namespace {

using namespace ::topicwire::testing::prelude;

v1::WorkerMessage Credit(uint32_t credit) {
  v1::WorkerMessage message;
  message.mutable_credit()->set_credit(credit);
  message.mutable_credit()->set_registers(true);
  return message;
}

v1::WorkerMessage Failed(uint64_t seq) {
  v1::WorkerMessage message;
  message.mutable_failed()->set_journal_seq(seq);
  message.mutable_failed()->set_reason("cannot tag it");
  return message;
}

v1::WorkerMessage Goodbye() {
  v1::WorkerMessage message;
  message.set_goodbye(true);
  return message;
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() { options_.heartbeat_interval = absl::Hours(1); }

  // REQUIRES: before the first use of dispatcher().
  DispatcherOptions& options() { return options_; }
  Dispatcher& dispatcher() {
    if (!dispatcher_.has_value()) dispatcher_.emplace(options_, journal_, metrics_, start_);
    return *dispatcher_;
  }

  // Journals `count` articles and hands them to the dispatcher; returns their sequence numbers.
  std::vector<uint64_t> Accept(int count) {
    std::vector<NewRecord> records;
    for (int i = 0; i < count; ++i) {
      v1::Article article;
      article.set_id("a" + std::to_string(next_id_++));
      article.set_title("Title of " + article.id());
      records.push_back(
          {.article_id = article.id(), .serialized_article = article.SerializeAsString()});
    }
    absl::StatusOr<std::vector<uint64_t>> seqs = journal_.Append(records, start_);
    EXPECT_THAT(seqs, IsOk());
    for (size_t i = 0; i < records.size(); ++i) {
      dispatcher().Add(PendingRecord{
          .journal_seq = (*seqs)[i], .article_id = records[i].article_id, .accepted_at = start_});
    }
    return *seqs;
  }

  // Takes and sends (as far as the dispatcher knows) the next batch for `worker`.
  std::vector<uint64_t> Dispatch(const std::string& worker, absl::Time now) {
    absl::StatusOr<std::optional<DispatchBatch>> batch = dispatcher().TakeBatch(worker);
    EXPECT_THAT(batch, IsOk());
    if (!batch.ok() || !batch->has_value()) return {};
    dispatcher().Sent(**batch, now);
    return (*batch)->seqs;
  }

  std::vector<uint32_t> Attempts(const std::string& worker) {
    absl::StatusOr<std::optional<DispatchBatch>> batch = dispatcher().TakeBatch(worker);
    EXPECT_THAT(batch, IsOk());
    std::vector<uint32_t> attempts;
    if (!batch.ok() || !batch->has_value()) return attempts;
    for (const v1::WorkItem& item : (*batch)->dispatch.items()) attempts.push_back(item.attempt());
    dispatcher().NotSent(**batch);
    return attempts;
  }

  const absl::Time start_ = MonotonicNow();
  DispatcherOptions options_;
  InMemoryJournal journal_;
  prometheus::Registry registry_;
  IngestMetrics metrics_{registry_};
  std::optional<Dispatcher> dispatcher_;
  int next_id_ = 1;
};

TEST_F(DispatcherTest, NothingGoesToAWorkerWithoutCredit) {
  const std::vector<uint64_t> seqs = Accept(2);
  v1::WorkerMessage heartbeat;
  heartbeat.set_heartbeat(true);
  EXPECT_FALSE(dispatcher().OnWorkerMessage("w", heartbeat, start_)) << "not registered";
  EXPECT_EQ(dispatcher().workers(), 0u);
  EXPECT_TRUE(dispatcher().OnWorkerMessage("w", Credit(0), start_));  // registers, no credit
  EXPECT_EQ(dispatcher().workers(), 1u);
  EXPECT_THAT(Dispatch("w", start_), IsEmpty());

  dispatcher().OnWorkerMessage("w", Credit(1), start_);
  absl::StatusOr<std::optional<DispatchBatch>> batch = dispatcher().TakeBatch("w");
  ASSERT_THAT(batch, IsOk());
  ASSERT_TRUE(batch->has_value());
  ASSERT_EQ((*batch)->dispatch.items_size(), 1);
  const v1::WorkItem& item = (*batch)->dispatch.items(0);
  EXPECT_EQ(item.journal_seq(), seqs[0]);
  EXPECT_EQ(item.article().id(), "a1");
  EXPECT_EQ(item.attempt(), 1u);
  dispatcher().Sent(**batch, start_);
  EXPECT_EQ(dispatcher().in_flight(), 1u);
  EXPECT_THAT(Dispatch("w", start_), IsEmpty());  // credit spent
}

TEST_F(DispatcherTest, InFlightStaysWithinTheBoundUntilSinkCommits) {
  options().max_in_flight = 3;
  const std::vector<uint64_t> seqs = Accept(5);
  dispatcher().OnWorkerMessage("w", Credit(10), start_);
  EXPECT_THAT(Dispatch("w", start_), ElementsAre(seqs[0], seqs[1], seqs[2]));
  EXPECT_THAT(Dispatch("w", start_), IsEmpty());

  ASSERT_THAT(dispatcher().Commit({{seqs[0], "a1"}, {seqs[1], "wrong id"}}), IsOk());
  EXPECT_EQ(dispatcher().pending(), 4u);  // the mismatched commit is ignored
  EXPECT_EQ(dispatcher().in_flight(), 2u);
  EXPECT_THAT(Dispatch("w", start_), ElementsAre(seqs[3]));
}

TEST_F(DispatcherTest, WorkersAreServedRoundRobin) {
  Accept(4);
  dispatcher().OnWorkerMessage("a", Credit(1), start_);
  dispatcher().OnWorkerMessage("b", Credit(1), start_);
  EXPECT_THAT(dispatcher().RoundRobinOrder(), ElementsAre("a", "b"));
  EXPECT_EQ(Dispatch("a", start_).size(), 1u);
  EXPECT_THAT(dispatcher().RoundRobinOrder(), ElementsAre("b", "a"));
}

TEST_F(DispatcherTest, UnconfirmedItemIsRedeliveredAfterTheTimeout) {
  options().redelivery_timeout = absl::Seconds(10);
  const std::vector<uint64_t> seqs = Accept(1);
  dispatcher().OnWorkerMessage("w", Credit(5), start_);
  ASSERT_THAT(Dispatch("w", start_), ElementsAre(seqs[0]));
  EXPECT_EQ(dispatcher().NextEvent(), start_ + absl::Seconds(10));

  dispatcher().Tick(start_ + absl::Seconds(9));
  EXPECT_EQ(dispatcher().in_flight(), 1u);
  EXPECT_THAT(Attempts("w"), IsEmpty());

  dispatcher().Tick(start_ + absl::Seconds(10));
  EXPECT_EQ(dispatcher().in_flight(), 0u);
  EXPECT_THAT(Attempts("w"), ElementsAre(2u));
  EXPECT_EQ(metrics_.failed_attempts.Value(), 0) << "a timeout alone uses no attempt";
}

TEST_F(DispatcherTest, TimeoutsAtALiveWorkerNeverDeadLetterAnArticle) {
  // Sink stalled: the worker keeps heartbeating but nothing is ever confirmed.
  options().max_attempts = 2;
  options().redelivery_timeout = absl::Seconds(10);
  const std::vector<uint64_t> seqs = Accept(1);
  absl::Time now = start_;
  dispatcher().OnWorkerMessage("w", Credit(100), now);
  for (int delivery = 1; delivery <= 10; ++delivery) {
    ASSERT_THAT(Dispatch("w", now), ElementsAre(seqs[0])) << delivery;
    now += absl::Seconds(10);
    dispatcher().Tick(now);
  }
  EXPECT_EQ(dispatcher().pending(), 1u);
  EXPECT_EQ(metrics_.failed_attempts.Value(), 0);
  EXPECT_EQ(metrics_.dead_lettered.Value(), 0);
  absl::StatusOr<std::vector<DeadLetter>> letters = journal_.ListDeadLetters(0, 1000);
  ASSERT_THAT(letters, IsOk());
  EXPECT_THAT(*letters, IsEmpty());
  // Sink is back and confirms the article: it is stored once and forgotten.
  ASSERT_THAT(dispatcher().Commit({{seqs[0], "a1"}}), IsOk());
  EXPECT_EQ(dispatcher().pending(), 0u);
}

TEST_F(DispatcherTest, AWorkerThatVanishesAfterItsItemTimedOutStillUsesOneAttempt) {
  // A worker that dies of an article before the liveness window notices must still count: the
  // article timed out in its hands, then the worker vanished.
  options().max_attempts = 2;
  options().redelivery_timeout = absl::Seconds(1);
  const std::vector<uint64_t> seqs = Accept(1);
  dispatcher().OnWorkerMessage("a", Credit(1), start_);
  ASSERT_THAT(Dispatch("a", start_), ElementsAre(seqs[0]));
  dispatcher().Tick(start_ + absl::Seconds(1));
  EXPECT_EQ(metrics_.failed_attempts.Value(), 0);
  dispatcher().OnWorkerMessage("b", Credit(1), start_ + absl::Seconds(1));
  ASSERT_THAT(Dispatch("b", start_ + absl::Seconds(1)), ElementsAre(seqs[0]));
  dispatcher().ForgetWorker("a", /*requeue_in_flight=*/true, "silent");
  EXPECT_EQ(metrics_.failed_attempts.Value(), 1);
  EXPECT_EQ(dispatcher().in_flight(), 1u) << "b's delivery goes on";
  dispatcher().ForgetWorker("b", /*requeue_in_flight=*/true, "silent");
  EXPECT_EQ(metrics_.failed_attempts.Value(), 2);
  EXPECT_EQ(metrics_.dead_lettered.Value(), 1) << "dead at --max_attempts";
  EXPECT_EQ(dispatcher().pending(), 0u);
}

TEST_F(DispatcherTest, FailedItemIsRequeuedAndItsAttemptIsPersisted) {
  const std::vector<uint64_t> seqs = Accept(1);
  dispatcher().OnWorkerMessage("w", Credit(5), start_);
  ASSERT_THAT(Dispatch("w", start_), ElementsAre(seqs[0]));
  dispatcher().OnWorkerMessage("w", Failed(seqs[0]), start_);
  EXPECT_EQ(dispatcher().in_flight(), 0u);
  EXPECT_THAT(Attempts("w"), ElementsAre(2u));
  absl::StatusOr<std::vector<PendingRecord>> pending = journal_.LoadPending();
  ASSERT_THAT(pending, IsOk());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].attempts, 1u);
}

TEST_F(DispatcherTest, PoisonArticleIsDeadLetteredAtMaxAttempts) {
  options().max_attempts = 2;
  const std::vector<uint64_t> seqs = Accept(1);
  dispatcher().OnWorkerMessage("w", Credit(5), start_);
  for (int attempt = 1; attempt <= 2; ++attempt) {
    ASSERT_THAT(Dispatch("w", start_), ElementsAre(seqs[0])) << attempt;
    dispatcher().OnWorkerMessage("w", Failed(seqs[0]), start_);
  }
  EXPECT_EQ(dispatcher().pending(), 0u);
  EXPECT_THAT(Dispatch("w", start_), IsEmpty());
  absl::StatusOr<std::vector<DeadLetter>> letters = journal_.ListDeadLetters(0, 1000);
  ASSERT_THAT(letters, IsOk());
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].article_id, "a1");
  EXPECT_EQ((*letters)[0].failure.attempts, 2u);
  EXPECT_EQ(metrics_.dead_lettered.Value(), 1);
}

TEST_F(DispatcherTest, RedeliveriesBackOffAfterFiveAttempts) {
  options().max_attempts = 100;
  options().redelivery_timeout = absl::Seconds(30);
  const std::vector<uint64_t> seqs = Accept(1);
  dispatcher().OnWorkerMessage("w", Credit(100), start_);
  for (int attempt = 1; attempt <= 4; ++attempt) {
    ASSERT_THAT(Dispatch("w", start_), ElementsAre(seqs[0])) << attempt;
    dispatcher().OnWorkerMessage("w", Failed(seqs[0]), start_);
  }
  ASSERT_THAT(Dispatch("w", start_), ElementsAre(seqs[0]));
  const absl::Time failed_at = MonotonicNow();
  dispatcher().OnWorkerMessage("w", Failed(seqs[0]), start_);
  EXPECT_THAT(Attempts("w"), IsEmpty());  // backing off for one redelivery timeout
  EXPECT_GE(dispatcher().NextEvent(), failed_at + absl::Seconds(30));

  dispatcher().Tick(MonotonicNow() + absl::Seconds(31));
  EXPECT_THAT(Attempts("w"), ElementsAre(6u));
}

TEST_F(DispatcherTest, ItemsOfAVanishedWorkerGoToAnotherWorkerAtOnce) {
  const std::vector<uint64_t> seqs = Accept(2);
  dispatcher().OnWorkerMessage("a", Credit(5), start_);
  dispatcher().OnWorkerMessage("b", Credit(5), start_);
  ASSERT_THAT(Dispatch("a", start_), ElementsAre(seqs[0], seqs[1]));
  dispatcher().ForgetWorker("a", /*requeue_in_flight=*/true, "disconnected");
  EXPECT_EQ(dispatcher().workers(), 1u);
  EXPECT_THAT(Attempts("b"), ElementsAre(2u, 2u));
}

TEST_F(DispatcherTest, GoodbyeLeavesItsItemsToTheirDeadline) {
  options().redelivery_timeout = absl::Seconds(10);
  const std::vector<uint64_t> seqs = Accept(1);
  dispatcher().OnWorkerMessage("a", Credit(5), start_);
  ASSERT_THAT(Dispatch("a", start_), ElementsAre(seqs[0]));
  dispatcher().OnWorkerMessage("a", Goodbye(), start_);
  dispatcher().OnWorkerMessage("b", Credit(5), start_);
  EXPECT_EQ(dispatcher().workers(), 1u);
  EXPECT_THAT(Attempts("b"), IsEmpty());
  dispatcher().Tick(start_ + absl::Seconds(10));
  EXPECT_THAT(Attempts("b"), ElementsAre(2u));
}

TEST_F(DispatcherTest, SilentWorkerIsForgottenAndTheOthersGetHeartbeats) {
  options().heartbeat_interval = absl::Seconds(1);
  const std::vector<uint64_t> seqs = Accept(1);
  dispatcher().OnWorkerMessage("quiet", Credit(5), start_);
  ASSERT_THAT(Dispatch("quiet", start_), ElementsAre(seqs[0]));
  EXPECT_THAT(dispatcher().Tick(start_), IsEmpty());  // no heartbeat due yet

  const absl::Time later = start_ + absl::Milliseconds(3500);
  dispatcher().OnWorkerMessage("chatty", Credit(5), later);
  EXPECT_THAT(dispatcher().Tick(later), ElementsAre("chatty"));
  EXPECT_EQ(dispatcher().workers(), 1u);
  EXPECT_THAT(Attempts("chatty"), ElementsAre(2u));  // requeued at once
}

TEST_F(DispatcherTest, AForgottenWorkerIsServedOnlyAfterItRegistersAgain) {
  options().heartbeat_interval = absl::Seconds(1);
  Accept(1);
  dispatcher().OnWorkerMessage("w", Credit(5), start_);
  dispatcher().Tick(start_ + absl::Seconds(4));  // silent for 3 intervals: forgotten
  EXPECT_EQ(dispatcher().workers(), 0u);
  // Its loop was blocked; running again, it heartbeats and returns credit as if nothing happened.
  v1::WorkerMessage heartbeat;
  heartbeat.set_heartbeat(true);
  EXPECT_FALSE(dispatcher().OnWorkerMessage("w", heartbeat, start_ + absl::Seconds(5)));
  v1::WorkerMessage returned;
  returned.mutable_credit()->set_credit(1);
  EXPECT_FALSE(dispatcher().OnWorkerMessage("w", returned, start_ + absl::Seconds(5)));
  EXPECT_EQ(dispatcher().workers(), 0u) << "no entry with partial or zero credit";
  EXPECT_TRUE(dispatcher().OnWorkerMessage("w2", Credit(5), start_ + absl::Seconds(5)));
  EXPECT_THAT(Attempts("w2"), ElementsAre(1u));
}

TEST_F(DispatcherTest, AnUnsentBatchUsesNoAttempt) {
  Accept(1);
  dispatcher().OnWorkerMessage("w", Credit(5), start_);
  EXPECT_THAT(Attempts("w"), ElementsAre(1u));  // taken, then NotSent
  EXPECT_THAT(Attempts("w"), ElementsAre(1u));
}

TEST_F(DispatcherTest, RecoveredRecordsKeepTheirAttemptCount) {
  absl::StatusOr<std::vector<uint64_t>> seqs = journal_.Append(
      {{.article_id = "old", .serialized_article = v1::Article().SerializeAsString()}}, start_);
  ASSERT_THAT(seqs, IsOk());
  dispatcher().Add(PendingRecord{
      .journal_seq = (*seqs)[0], .article_id = "old", .accepted_at = start_, .attempts = 3});
  dispatcher().OnWorkerMessage("w", Credit(1), start_);
  EXPECT_THAT(Attempts("w"), ElementsAre(4u));
}

}  // namespace
}  // namespace topicwire::ingest
