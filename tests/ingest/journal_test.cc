#include "ingest/journal.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_util.h"

namespace topicwire::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::topicwire::testing::IsOk;
using ::topicwire::testing::MakeTempDir;
using ::topicwire::testing::StatusIs;

std::unique_ptr<SqliteJournal> OpenJournal(const std::string& path, int64_t window = 1000) {
  absl::StatusOr<std::unique_ptr<SqliteJournal>> journal =
      SqliteJournal::Open(path, {.fsync = true, .dedup_window = window});
  EXPECT_THAT(journal, IsOk());
  return journal.ok() ? *std::move(journal) : nullptr;
}

std::vector<uint64_t> SeqsOf(const std::vector<PendingRecord>& records) {
  std::vector<uint64_t> seqs;
  for (const auto& record : records) seqs.push_back(record.journal_seq);
  return seqs;
}

TEST(SqliteJournalTest, AppendAssignsIncreasingSeqsFromOne) {
  auto journal = OpenJournal(MakeTempDir() + "/sub/dir/journal.db");  // directories created
  ASSERT_NE(journal, nullptr);
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  absl::StatusOr<std::vector<uint64_t>> seqs =
      journal->Append({{"a", "article a"}, {"b", "article b"}}, now);
  ASSERT_THAT(seqs, IsOk());
  EXPECT_THAT(*seqs, ElementsAre(1, 2));
  seqs = journal->Append({{"c", "article c"}}, now);
  ASSERT_THAT(seqs, IsOk());
  EXPECT_THAT(*seqs, ElementsAre(3));
  EXPECT_THAT(journal->ReadArticle(2), IsOk());
  EXPECT_EQ(*journal->ReadArticle(2), "article b");
  EXPECT_THAT(journal->ContainsId("c"), IsOk());
  EXPECT_TRUE(*journal->ContainsId("c"));
  EXPECT_FALSE(*journal->ContainsId("zzz"));
}

TEST(SqliteJournalTest, ReopenResumesPendingButNotCommitted) {
  const std::string path = MakeTempDir() + "/journal.db";
  const absl::Time accepted = absl::FromUnixMicros(1700000000123456);
  {
    auto journal = OpenJournal(path);
    ASSERT_NE(journal, nullptr);
    ASSERT_THAT(journal->Append({{"a", "A"}, {"b", "B"}, {"c", "C"}}, accepted), IsOk());
    absl::StatusOr<std::vector<uint64_t>> matched =
        journal->MarkCommitted({{2, "b"}, {3, "wrong id"}, {99, "x"}});
    ASSERT_THAT(matched, IsOk());
    EXPECT_THAT(*matched, ElementsAre(2));
  }
  auto journal = OpenJournal(path);
  ASSERT_NE(journal, nullptr);
  absl::StatusOr<std::vector<PendingRecord>> pending = journal->LoadPending();
  ASSERT_THAT(pending, IsOk());
  EXPECT_THAT(SeqsOf(*pending), ElementsAre(1, 3));
  EXPECT_EQ((*pending)[1].article_id, "c");
  EXPECT_EQ((*pending)[1].accepted_at, accepted);
  EXPECT_EQ(*journal->ReadArticle(3), "C");
  EXPECT_THAT(journal->ReadArticle(2), StatusIs(absl::StatusCode::kNotFound));
  // The committed id still answers DUPLICATE; new seqs continue after the old ones.
  EXPECT_TRUE(*journal->ContainsId("b"));
  EXPECT_THAT(*journal->Append({{"d", "D"}}, accepted), ElementsAre(4));
}

TEST(SqliteJournalTest, DedupWindowForgetsOldestCommittedIdsFirst) {
  auto journal = OpenJournal(MakeTempDir() + "/journal.db", /*window=*/3);
  ASSERT_NE(journal, nullptr);
  const absl::Time now = absl::Now();
  ASSERT_THAT(journal->Append({{"a", "A"}, {"b", "B"}}, now), IsOk());
  ASSERT_THAT(journal->MarkCommitted({{1, "a"}}), IsOk());  // b stays pending
  for (const char* id : {"c", "d", "e", "f"}) {
    ASSERT_THAT(journal->Append({{id, "x"}}, now), IsOk());
  }
  EXPECT_FALSE(*journal->ContainsId("a")) << "committed and outside the window: forgotten";
  EXPECT_TRUE(*journal->ContainsId("b")) << "pending records are never forgotten";
  EXPECT_TRUE(*journal->ContainsId("f"));
  ASSERT_THAT(journal->MarkCommitted({{2, "b"}, {3, "c"}, {4, "d"}, {5, "e"}, {6, "f"}}), IsOk());
  EXPECT_FALSE(*journal->ContainsId("b"));
  EXPECT_FALSE(*journal->ContainsId("c"));
  EXPECT_TRUE(*journal->ContainsId("d"));
  EXPECT_TRUE(*journal->ContainsId("f"));
  EXPECT_EQ(*journal->RecordCount(), 3);
}

TEST(SqliteJournalTest, CommittingReclaimsArticleSpace) {
  auto journal = OpenJournal(MakeTempDir() + "/journal.db");
  ASSERT_NE(journal, nullptr);
  const std::string big(100 * 1024, 'x');
  std::vector<NewRecord> records;
  std::vector<CommitMark> marks;
  for (int i = 0; i < 40; ++i) {
    records.push_back({"id-" + std::to_string(i), big});
    marks.emplace_back(i + 1, "id-" + std::to_string(i));
  }
  ASSERT_THAT(journal->Append(records, absl::Now()), IsOk());
  const int64_t full = journal->SizeBytes();
  EXPECT_GT(full, 40 * 100 * 1024);
  ASSERT_THAT(journal->MarkCommitted(marks), IsOk());
  EXPECT_LT(journal->SizeBytes(), full / 10);
  EXPECT_THAT(*journal->LoadPending(), IsEmpty());
  EXPECT_TRUE(*journal->ContainsId("id-39"));
}

TEST(SqliteJournalTest, UnwritableDirectoryIsAnActionableError) {
  EXPECT_THAT(SqliteJournal::Open("/proc/no/such/journal.db", {}),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::HasSubstr("journal")));
}

TEST(InMemoryJournalTest, BehavesLikeTheSqliteJournal) {
  InMemoryJournal journal(/*dedup_window=*/2);
  ASSERT_THAT(journal.Append({{"a", "A"}, {"b", "B"}}, absl::Now()), IsOk());
  EXPECT_THAT(*journal.MarkCommitted({{1, "a"}, {2, "nope"}}), ElementsAre(1));
  EXPECT_THAT(SeqsOf(*journal.LoadPending()), ElementsAre(2));
  ASSERT_THAT(journal.Append({{"c", "C"}, {"d", "D"}}, absl::Now()), IsOk());
  EXPECT_FALSE(*journal.ContainsId("a"));
  EXPECT_TRUE(*journal.ContainsId("b"));
  EXPECT_EQ(*journal.ReadArticle(4), "D");
}

}  // namespace
}  // namespace topicwire::ingest
