#include "sink/store.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/sqlite.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/util/time_util.h"
#include "tests/testing/prelude.h"

namespace topicwire::sink {
namespace {

using ::google::protobuf::util::TimeUtil;
using namespace ::topicwire::testing::prelude;

const absl::Time kNoon = absl::FromUnixSeconds(1'800'000'000);

v1::TaggedArticle MakeArticle(const std::string& id, std::vector<std::string> topics) {
  v1::TaggedArticle article;
  article.mutable_article()->set_id(id);
  article.mutable_article()->set_title("title of " + id);
  for (const std::string& topic : topics) article.add_tags()->set_topic(topic);
  return article;
}

// Builds a HistoryQuery field by field (GCC warns about partially designated initializers).
class Query {
 public:
  Query& After(uint64_t sequence) {
    query_.after_sequence = sequence;
    return *this;
  }
  Query& Since(absl::Time time) {
    query_.since = time;
    return *this;
  }
  Query& Streams(std::vector<std::string> streams) {
    query_.streams = std::move(streams);
    return *this;
  }
  Query& Max(uint32_t articles) {
    query_.max_articles = articles;
    return *this;
  }
  Query& MaxBytes(size_t bytes) {
    query_.max_bytes = bytes;
    return *this;
  }
  operator const HistoryQuery&() const { return query_; }

 private:
  HistoryQuery query_;
};

std::unique_ptr<SqliteStore> OpenStore(const std::string& path) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      SqliteStore::Open({.path = path, .fsync = true});
  EXPECT_THAT(store, IsOk());
  return store.ok() ? *std::move(store) : nullptr;
}

// (stream, stream_sequence) of each position.
std::vector<std::pair<std::string, uint64_t>> Positions(
    const std::vector<StreamPosition>& positions) {
  std::vector<std::pair<std::string, uint64_t>> pairs;
  for (const StreamPosition& position : positions) {
    pairs.emplace_back(position.stream, position.stream_sequence);
  }
  return pairs;
}

// (stream, stream_sequence) of each copy.
std::vector<std::pair<std::string, uint64_t>> StreamPositions(
    const std::vector<v1::TaggedArticle>& copies) {
  std::vector<std::pair<std::string, uint64_t>> positions;
  for (const v1::TaggedArticle& copy : copies) {
    positions.emplace_back(copy.stream(), copy.stream_sequence());
  }
  return positions;
}

std::vector<uint64_t> Sequences(const std::vector<v1::TaggedArticle>& copies) {
  std::vector<uint64_t> sequences;
  for (const v1::TaggedArticle& copy : copies) sequences.push_back(copy.sequence());
  return sequences;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = MakeTempDir() + "/nested/dir/store.db";
    store_ = OpenStore(path_);
    ASSERT_NE(store_, nullptr);
  }

  std::vector<StoreOutcome> Store(const std::vector<v1::TaggedArticle>& articles,
                                  absl::Time now = kNoon) {
    std::vector<const v1::TaggedArticle*> pointers;
    for (const v1::TaggedArticle& article : articles) pointers.push_back(&article);
    absl::StatusOr<std::vector<StoreOutcome>> outcomes = store_->StoreBatch(pointers, now);
    EXPECT_THAT(outcomes, IsOk());
    return outcomes.ok() ? *outcomes : std::vector<StoreOutcome>{};
  }

  HistoryPage Read(const HistoryQuery& query) {
    absl::StatusOr<HistoryPage> page = store_->ReadHistory(query);
    EXPECT_THAT(page, IsOk());
    return page.ok() ? *page : HistoryPage{};
  }

  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, WhatWasPublishedIsRememberedAcrossReopening) {
  Store({MakeArticle("p1", {"ai"})});
  EXPECT_EQ(store_->published_through(), 0u);  // stored, not yet published
  ASSERT_THAT(store_->MarkPublished(1), IsOk());
  Store({MakeArticle("p2", {"ai"}), MakeArticle("p3", {"ai"})});
  // A crash here: the batch of p2 and p3 is committed, its copies never went out.
  store_ = OpenStore(path_);
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->head_sequence(), 3u);
  EXPECT_EQ(store_->published_through(), 1u);
  ASSERT_THAT(store_->MarkPublished(3), IsOk());
  store_ = OpenStore(path_);
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->published_through(), 3u);
}

TEST_F(SqliteStoreTest, EpochIsRandomPerStoreAndKeptAcrossReopening) {
  const uint64_t epoch = store_->epoch();
  EXPECT_NE(epoch, 0u);
  std::vector<StoreOutcome> outcomes = Store({MakeArticle("e1", {"ai"})});
  ASSERT_EQ(outcomes.size(), 1u);
  v1::TaggedArticle stored;
  ASSERT_TRUE(stored.ParseFromString(outcomes[0].serialized));
  EXPECT_EQ(stored.store_epoch(), epoch);
  store_ = OpenStore(path_);
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->epoch(), epoch);
  HistoryPage page = Read(Query());
  ASSERT_EQ(page.copies.size(), 1u);
  EXPECT_EQ(page.copies[0].store_epoch(), epoch);
  std::unique_ptr<SqliteStore> other = OpenStore(MakeTempDir() + "/other.db");
  ASSERT_NE(other, nullptr);
  EXPECT_NE(other->epoch(), epoch);
}

TEST_F(SqliteStoreTest, CreatesParentDirectoriesAndStartsEmpty) {
  EXPECT_TRUE(std::filesystem::exists(path_));
  EXPECT_EQ(store_->head_sequence(), 0u);
  HistoryPage page = Read(Query());
  EXPECT_TRUE(page.copies.empty());
  EXPECT_TRUE(page.complete);
  EXPECT_EQ(page.head_sequence, 0u);
}

// What the stage publishes (CopyFrames of the stored bytes) is each input article with exactly
// sink's fields set (sequence, stored_at, stream, stream_sequence, store_epoch), and history
// returns the same copies.
TEST_F(SqliteStoreTest, PublishedCopiesAreTheArticlesWithSinkFieldsAndMatchHistory) {
  v1::TaggedArticle with_sink_fields = MakeArticle("s", {"ai"});
  with_sink_fields.set_stream("forged");  // a worker should not set these; the store overrides
  with_sink_fields.set_sequence(99);
  *with_sink_fields.mutable_stored_at() = TimeUtil::SecondsToTimestamp(5);
  const std::vector<v1::TaggedArticle> articles = {MakeArticle("a", {"quantum", "ai"}),
                                                   MakeArticle("b", {}), with_sink_fields};
  std::vector<StoreOutcome> outcomes = Store(articles);
  ASSERT_EQ(outcomes.size(), 3u);
  HistoryPage page = Read(Query());
  size_t copy_in_history = 0;
  for (size_t a = 0; a < outcomes.size(); ++a) {
    const StoreOutcome& outcome = outcomes[a];
    EXPECT_EQ(outcome.stored_at, kNoon);
    for (const StreamPosition& position : outcome.streams) {
      Frames frames = CopyFrames(outcome.serialized, position);
      ASSERT_EQ(frames.size(), 2u);
      EXPECT_EQ(frames[0].to_string(), position.stream);
      v1::TaggedArticle expected = articles[a];
      expected.set_sequence(outcome.sequence);
      *expected.mutable_stored_at() = TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(kNoon));
      expected.set_stream(position.stream);
      expected.set_stream_sequence(position.stream_sequence);
      expected.set_store_epoch(store_->epoch());
      v1::TaggedArticle parsed;
      ASSERT_TRUE(parsed.ParseFromString(frames[1].to_string()));
      EXPECT_EQ(parsed.SerializeAsString(), expected.SerializeAsString());
      ASSERT_LT(copy_in_history, page.copies.size());
      EXPECT_EQ(parsed.SerializeAsString(), page.copies[copy_in_history++].SerializeAsString());
    }
  }
  EXPECT_EQ(copy_in_history, page.copies.size());
}

TEST_F(SqliteStoreTest, AssignsSequencesAndStreamSequencesWithoutHoles) {
  std::vector<StoreOutcome> outcomes =
      Store({MakeArticle("a", {"quantum", "ai"}), MakeArticle("b", {}), MakeArticle("c", {"ai"})});
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_TRUE(outcomes[0].newly_stored);
  EXPECT_EQ(outcomes[0].sequence, 1u);
  EXPECT_THAT(Positions(outcomes[0].streams), ElementsAre(Pair("quantum", 1u), Pair("ai", 1u)));
  EXPECT_EQ(outcomes[1].sequence, 2u);
  EXPECT_THAT(Positions(outcomes[1].streams), ElementsAre(Pair("untagged", 1u)));
  EXPECT_EQ(outcomes[2].sequence, 3u);
  EXPECT_THAT(Positions(outcomes[2].streams), ElementsAre(Pair("ai", 2u)));
  for (const StoreOutcome& outcome : outcomes) {
    v1::TaggedArticle stored;
    ASSERT_TRUE(stored.ParseFromString(outcome.serialized));
    EXPECT_EQ(stored.sequence(), outcome.sequence);
    EXPECT_EQ(TimeUtil::TimestampToSeconds(stored.stored_at()), absl::ToUnixSeconds(kNoon));
    EXPECT_TRUE(stored.stream().empty());
  }
  EXPECT_EQ(store_->head_sequence(), 3u);
}

TEST_F(SqliteStoreTest, StoringAnIdAgainChangesNothing) {
  Store({MakeArticle("a", {"ai"})});
  v1::TaggedArticle changed = MakeArticle("a", {"quantum"});
  changed.mutable_article()->set_title("a different title");
  std::vector<StoreOutcome> outcomes = Store({changed, MakeArticle("b", {"ai"})});
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_FALSE(outcomes[0].newly_stored);
  EXPECT_EQ(outcomes[0].sequence, 1u);
  EXPECT_TRUE(outcomes[0].streams.empty());
  EXPECT_TRUE(outcomes[0].serialized.empty());
  EXPECT_TRUE(outcomes[1].newly_stored);
  EXPECT_EQ(outcomes[1].sequence, 2u);  // no hole for the duplicate
  EXPECT_THAT(Positions(outcomes[1].streams), ElementsAre(Pair("ai", 2u)));

  HistoryPage page = Read(Query());
  ASSERT_EQ(page.copies.size(), 2u);
  EXPECT_EQ(page.copies[0].article().title(), "title of a");  // the first version stays
  EXPECT_EQ(page.copies[0].stream(), "ai");
}

TEST_F(SqliteStoreTest, RepeatWithinOneBatchIsStoredOnce) {
  std::vector<StoreOutcome> outcomes = Store({MakeArticle("a", {"ai"}), MakeArticle("a", {"ai"})});
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[0].newly_stored);
  EXPECT_FALSE(outcomes[1].newly_stored);
  EXPECT_EQ(outcomes[1].sequence, 1u);
  EXPECT_EQ(store_->head_sequence(), 1u);
}

TEST_F(SqliteStoreTest, SequencesContinueAfterReopening) {
  Store({MakeArticle("a", {"ai"}), MakeArticle("b", {})});
  store_.reset();
  store_ = OpenStore(path_);
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->head_sequence(), 2u);
  std::vector<StoreOutcome> outcomes = Store(
      {MakeArticle("a", {"ai"}), MakeArticle("c", {"ai", "untagged_not"}), MakeArticle("d", {})});
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_FALSE(outcomes[0].newly_stored);  // idempotence survives the restart too
  EXPECT_EQ(outcomes[1].sequence, 3u);
  EXPECT_THAT(Positions(outcomes[1].streams),
              ElementsAre(Pair("ai", 2u), Pair("untagged_not", 1u)));
  EXPECT_EQ(outcomes[2].sequence, 4u);
  EXPECT_THAT(Positions(outcomes[2].streams), ElementsAre(Pair("untagged", 2u)));
}

TEST_F(SqliteStoreTest, StoredAtNeverGoesBackwards) {
  Store({MakeArticle("a", {})}, kNoon);
  std::vector<StoreOutcome> outcomes = Store({MakeArticle("b", {})}, kNoon - absl::Hours(1));
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].stored_at, kNoon);
  v1::TaggedArticle stored;
  ASSERT_TRUE(stored.ParseFromString(outcomes[0].serialized));
  EXPECT_EQ(TimeUtil::TimestampToSeconds(stored.stored_at()), absl::ToUnixSeconds(kNoon));
}

TEST_F(SqliteStoreTest, HistoryPagesByArticleInSequenceOrder) {
  Store({MakeArticle("a", {"quantum", "ai"}), MakeArticle("b", {}), MakeArticle("c", {"ai"})});
  HistoryPage first = Read(Query().After(0).Max(2));
  EXPECT_THAT(Sequences(first.copies), ElementsAre(1u, 1u, 2u));
  EXPECT_THAT(StreamPositions(first.copies),
              ElementsAre(Pair("quantum", 1u), Pair("ai", 1u), Pair("untagged", 1u)));
  EXPECT_EQ(first.last_sequence, 2u);
  EXPECT_FALSE(first.complete);
  EXPECT_EQ(first.head_sequence, 3u);

  HistoryPage second = Read(Query().After(first.last_sequence).Max(2));
  EXPECT_THAT(Sequences(second.copies), ElementsAre(3u));
  EXPECT_EQ(second.last_sequence, 3u);
  EXPECT_TRUE(second.complete);

  HistoryPage beyond = Read(Query().After(3));
  EXPECT_TRUE(beyond.copies.empty());
  EXPECT_TRUE(beyond.complete);
  EXPECT_EQ(beyond.last_sequence, 3u);
}

TEST_F(SqliteStoreTest, HistoryFiltersByStreamAndCoversTheRest) {
  Store({MakeArticle("a", {"quantum", "ai"}), MakeArticle("b", {}), MakeArticle("c", {"ai"}),
         MakeArticle("d", {"space"})});
  HistoryPage page = Read(Query().Streams({"ai", "untagged"}).Max(10));
  EXPECT_THAT(StreamPositions(page.copies),
              ElementsAre(Pair("ai", 1u), Pair("untagged", 1u), Pair("ai", 2u)));
  // Nothing after sequence 3 matches, so the page covers the store up to its head.
  EXPECT_EQ(page.last_sequence, 4u);
  EXPECT_TRUE(page.complete);

  HistoryPage limited = Read(Query().Streams({"ai"}).Max(1));
  EXPECT_THAT(StreamPositions(limited.copies), ElementsAre(Pair("ai", 1u)));
  EXPECT_EQ(limited.last_sequence, 1u);
  EXPECT_FALSE(limited.complete);
}

TEST_F(SqliteStoreTest, HistorySinceATime) {
  Store({MakeArticle("a", {})}, kNoon);
  Store({MakeArticle("b", {}), MakeArticle("c", {})}, kNoon + absl::Minutes(5));
  HistoryPage page = Read(Query().Since(kNoon + absl::Minutes(1)));
  EXPECT_THAT(Sequences(page.copies), ElementsAre(2u, 3u));
  EXPECT_TRUE(page.complete);

  HistoryPage future = Read(Query().Since(kNoon + absl::Hours(1)));
  EXPECT_TRUE(future.copies.empty());
  EXPECT_EQ(future.last_sequence, 3u);
  EXPECT_TRUE(future.complete);
}

TEST_F(SqliteStoreTest, HistoryPageStopsAtTheByteBudgetButAlwaysMakesProgress) {
  v1::TaggedArticle big = MakeArticle("a", {"ai"});
  big.mutable_article()->set_body(std::string(10000, 'x'));
  v1::TaggedArticle big2 = big;
  big2.mutable_article()->set_id("b");
  Store({big, big2});
  HistoryPage page = Read(Query().MaxBytes(100));
  EXPECT_THAT(Sequences(page.copies), ElementsAre(1u));
  EXPECT_FALSE(page.complete);
}

TEST_F(SqliteStoreTest, HistoryOfSeveralStreamsPagesThroughTheirMergedCopies) {
  Store({MakeArticle("a", {"ai"}), MakeArticle("b", {"space", "ai"}), MakeArticle("c", {"quantum"}),
         MakeArticle("d", {"space"}), MakeArticle("e", {"ai"}), MakeArticle("f", {"quantum"})});
  HistoryPage first = Read(Query().Streams({"space", "ai"}).Max(2));
  EXPECT_THAT(StreamPositions(first.copies),
              ElementsAre(Pair("ai", 1u), Pair("space", 1u), Pair("ai", 2u)));
  EXPECT_EQ(first.last_sequence, 2u);
  EXPECT_FALSE(first.complete);

  HistoryPage second = Read(Query().After(first.last_sequence).Streams({"space", "ai"}).Max(2));
  EXPECT_THAT(StreamPositions(second.copies), ElementsAre(Pair("space", 2u), Pair("ai", 3u)));
  // Neither stream has more: the page covers the store up to its head.
  EXPECT_EQ(second.last_sequence, 6u);
  EXPECT_TRUE(second.complete);
}

// What SQLite plans for `sql`: one line per step ("SEARCH streams USING COVERING INDEX ...").
std::string QueryPlan(sqlite::Database& db, const std::string& sql) {
  absl::StatusOr<sqlite::Statement> explain = db.PrepareUncached("EXPLAIN QUERY PLAN " + sql);
  EXPECT_THAT(explain, IsOk());
  if (!explain.ok()) return "";
  absl::StatusOr<std::vector<std::string>> steps =
      explain->ReadRows([](sqlite::Statement& row) { return row.ColumnText(3); });
  EXPECT_THAT(steps, IsOk());
  return steps.ok() ? absl::StrJoin(*steps, "\n") : "";
}

// A page of history must cost the same in a store of a thousand articles as in one of millions:
// every history query reads through an index, sorts nothing and stops at the page.
TEST_F(SqliteStoreTest, HistoryQueriesUseAnIndexAndNeverSortTheStream) {
  Store({MakeArticle("a", {"ai"}), MakeArticle("b", {})});
  absl::StatusOr<std::unique_ptr<sqlite::Database>> db =
      sqlite::Database::Open(path_, {.create = false});
  ASSERT_THAT(db, IsOk());
  const std::string of_stream = QueryPlan(**db, kHistoryCopiesOfStreamSql);
  EXPECT_THAT(of_stream,
              HasSubstr("USING COVERING INDEX streams_by_stream (stream=? AND sequence>?)"));
  EXPECT_THAT(of_stream, Not(HasSubstr("TEMP B-TREE")));
  EXPECT_THAT(std::string(kHistoryCopiesOfStreamSql), HasSubstr("LIMIT"));
  const std::string in_range = QueryPlan(**db, kHistoryCopiesInRangeSql);
  EXPECT_THAT(in_range, HasSubstr("USING INDEX streams_by_sequence (sequence>? AND sequence<?)"));
  EXPECT_THAT(in_range, Not(HasSubstr("TEMP B-TREE")));
  EXPECT_THAT(QueryPlan(**db, kHistoryArticleSql), HasSubstr("USING INTEGER PRIMARY KEY"));
}

TEST(SqliteStoreRetentionTest, OldArticlesExpireAndNumberingContinuesAcrossReopening) {
  const std::string path = MakeTempDir() + "/store.db";
  SqliteStoreOptions options{.path = path, .fsync = true, .retention_age = absl::Hours(1)};
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(options);
  ASSERT_THAT(store, IsOk());
  const v1::TaggedArticle a = MakeArticle("a", {"ai"}), b = MakeArticle("b", {"space"}),
                          c = MakeArticle("c", {"ai"});
  ASSERT_THAT((*store)->StoreBatch({&a, &b}, kNoon), IsOk());
  ASSERT_THAT((*store)->StoreBatch({&c}, kNoon + absl::Hours(2)), IsOk());
  absl::StatusOr<uint64_t> removed = (*store)->Trim(kNoon + absl::Minutes(150));
  ASSERT_THAT(removed, IsOk());
  EXPECT_EQ(*removed, 2u);
  EXPECT_EQ((*store)->first_sequence(), 3u);

  absl::StatusOr<HistoryPage> page = (*store)->ReadHistory(Query().After(0));
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->first_sequence, 3u);
  EXPECT_THAT(Sequences(page->copies), ElementsAre(3u));
  EXPECT_TRUE(page->complete);

  store->reset();
  store = SqliteStore::Open(options);
  ASSERT_THAT(store, IsOk());
  EXPECT_EQ((*store)->first_sequence(), 3u);
  EXPECT_EQ((*store)->head_sequence(), 3u);
  // Every copy of "space" is gone; its numbering goes on all the same.
  const v1::TaggedArticle d = MakeArticle("d", {"space"});
  absl::StatusOr<std::vector<StoreOutcome>> stored =
      (*store)->StoreBatch({&d}, kNoon + absl::Hours(2));
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ((*stored)[0].sequence, 4u);
  EXPECT_THAT(Positions((*stored)[0].streams), ElementsAre(Pair("space", 2u)));
}

TEST(SqliteStoreRetentionTest, StoreStaysUnderItsByteBoundKeepingTheNewest) {
  const std::string path = MakeTempDir() + "/store.db";
  constexpr int64_t kBound = 1 << 20;
  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      SqliteStore::Open({.path = path, .fsync = false, .retention_bytes = kBound});
  ASSERT_THAT(store, IsOk());
  for (int i = 0; i < 300; ++i) {  // 300 articles of 16 KiB: about 5 MiB
    v1::TaggedArticle article = MakeArticle(absl::StrCat("a", i), {"ai"});
    article.mutable_article()->set_body(std::string(16 << 10, 'x'));
    ASSERT_THAT((*store)->StoreBatch({&article}, kNoon), IsOk());
    ASSERT_THAT((*store)->Trim(kNoon), IsOk());
  }
  EXPECT_EQ((*store)->head_sequence(), 300u);
  EXPECT_GT((*store)->first_sequence(), 200u);
  absl::StatusOr<int64_t> size = (*store)->SizeBytes();
  ASSERT_THAT(size, IsOk());
  EXPECT_LT(*size, 2 * kBound);
}

TEST_F(SqliteStoreTest, ReportsItsSize) {
  absl::StatusOr<int64_t> size = store_->SizeBytes();
  ASSERT_THAT(size, IsOk());
  EXPECT_GT(*size, 0);
}

TEST_F(SqliteStoreTest, ReaderListsArticlesAndCopiesWhileTheStoreIsOpen) {
  Store({MakeArticle("a", {"quantum", "ai"}), MakeArticle("b", {}), MakeArticle("c", {"ai"})});
  absl::StatusOr<std::unique_ptr<StoreReader>> reader = StoreReader::Open(path_);
  ASSERT_THAT(reader, IsOk());
  absl::StatusOr<std::vector<StoredArticle>> after_one = (*reader)->ReadArticles(1);
  ASSERT_THAT(after_one, IsOk());
  ASSERT_EQ(after_one->size(), 2u);
  EXPECT_EQ((*after_one)[0].article_id, "b");
  EXPECT_EQ((*after_one)[0].sequence, 2u);
  EXPECT_EQ((*after_one)[1].article_id, "c");
  absl::StatusOr<std::vector<StoredCopy>> copies = (*reader)->ReadCopies();
  ASSERT_THAT(copies, IsOk());
  std::vector<std::pair<std::string, uint64_t>> ids;
  std::vector<StreamPosition> positions;
  for (const StoredCopy& copy : *copies) {
    ids.emplace_back(copy.article_id, copy.sequence);
    positions.push_back(copy.position);
  }
  EXPECT_THAT(ids, ElementsAre(Pair("a", 1u), Pair("a", 1u), Pair("b", 2u), Pair("c", 3u)));
  EXPECT_THAT(Positions(positions), ElementsAre(Pair("quantum", 1u), Pair("ai", 1u),
                                                Pair("untagged", 1u), Pair("ai", 2u)));
  // It sees what the store writes after it opened.
  Store({MakeArticle("d", {})});
  absl::StatusOr<std::vector<StoredArticle>> newer = (*reader)->ReadArticles(3);
  ASSERT_THAT(newer, IsOk());
  ASSERT_EQ(newer->size(), 1u);
  EXPECT_EQ((*newer)[0].article_id, "d");
}

TEST(StoreReaderTest, MissingStoreIsNotFound) {
  EXPECT_THAT(StoreReader::Open(MakeTempDir() + "/none.db"), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace topicwire::sink
