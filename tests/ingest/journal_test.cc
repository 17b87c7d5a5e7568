#include "ingest/journal.h"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "proto/article.pb.h"
#include "tests/testing/prelude.h"

namespace topicwire::ingest {
namespace {

using namespace ::topicwire::testing::prelude;

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

// --- Healing: checksums, damaged files, full disk, dead letters ------------------------------

namespace topicwire::ingest {
namespace {

// Runs one SQL statement on the journal file from outside, the way a bad disk would change it.
void RunSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

void WriteFile(const std::string& path, const std::string& bytes, bool append = false) {
  std::ofstream out(path, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  out << bytes;
}

std::string RandomBytes(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& byte : bytes) byte = static_cast<char>(random());
  return bytes;
}

// A closed journal at `path` holding a, b and c at journal_seq 1, 2 and 3.
void WriteThreeRecords(const std::string& path) {
  auto journal = OpenJournal(path);
  ASSERT_NE(journal, nullptr);
  ASSERT_THAT(journal->Append({{"a", "A"}, {"b", "B"}, {"c", "C"}}, absl::Now()), IsOk());
}

TEST(JournalHealingTest, RecordWithCorruptBytesIsQuarantinedAndOthersResume) {
  const std::string path = MakeTempDir() + "/journal.db";
  ASSERT_NO_FATAL_FAILURE(WriteThreeRecords(path));
  RunSql(path, "UPDATE records SET article = X'DEADBEEF' WHERE journal_seq = 2");
  auto journal = OpenJournal(path);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->recovery().quarantined_records, 1);
  EXPECT_FALSE(journal->recovery().database_replaced);
  EXPECT_THAT(SeqsOf(*journal->LoadPending()), ElementsAre(1, 3));
  const std::string quarantine = ReadFile(path + ".quarantine.jsonl");
  EXPECT_THAT(quarantine, HasSubstr("\"journal_seq\":2,"));
  EXPECT_THAT(quarantine, HasSubstr("checksum mismatch"));
  EXPECT_THAT(quarantine, HasSubstr(absl::Base64Escape("\xDE\xAD\xBE\xEF")));
  // The rest works as before, and the next open finds nothing more to quarantine.
  EXPECT_THAT(*journal->Append({{"d", "D"}}, absl::Now()), ElementsAre(4));
  journal.reset();
  journal = OpenJournal(path);
  EXPECT_EQ(journal->recovery().quarantined_records, 0);
  EXPECT_THAT(SeqsOf(*journal->LoadPending()), ElementsAre(1, 3, 4));
}

TEST(JournalHealingTest, RecordWithCorruptChecksumOrIdIsQuarantined) {
  const std::string path = MakeTempDir() + "/journal.db";
  ASSERT_NO_FATAL_FAILURE(WriteThreeRecords(path));
  RunSql(path, "UPDATE records SET checksum = checksum + 1 WHERE journal_seq = 1");
  RunSql(path, "UPDATE records SET article_id = 'x' WHERE journal_seq = 3");
  auto journal = OpenJournal(path);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->recovery().quarantined_records, 2);
  EXPECT_THAT(SeqsOf(*journal->LoadPending()), ElementsAre(2));
}

// A crash leaves the WAL with frames SQLite has not checkpointed; this copies the files while
// the journal is open, as a crash would leave them.
std::string CrashSnapshot(const std::string& path) {
  const std::string copy = MakeTempDir() + "/journal.db";
  std::filesystem::copy_file(path, copy);
  std::filesystem::copy_file(path + "-wal", copy + "-wal");
  return copy;
}

TEST(JournalHealingTest, GarbageAppendedToTheWalIsIgnored) {
  const std::string path = MakeTempDir() + "/journal.db";
  auto journal = OpenJournal(path);
  ASSERT_NE(journal, nullptr);
  ASSERT_THAT(journal->Append({{"a", "A"}, {"b", "B"}}, absl::Now()), IsOk());
  const std::string crashed = CrashSnapshot(path);
  ASSERT_GT(std::filesystem::file_size(crashed + "-wal"), 0u);
  WriteFile(crashed + "-wal", RandomBytes(10000, 1), /*append=*/true);
  auto recovered = OpenJournal(crashed);
  ASSERT_NE(recovered, nullptr);
  EXPECT_FALSE(recovered->recovery().database_replaced);
  EXPECT_EQ(recovered->recovery().quarantined_records, 0);
  EXPECT_THAT(SeqsOf(*recovered->LoadPending()), ElementsAre(1, 2));
  EXPECT_EQ(*recovered->ReadArticle(2), "B");
}

TEST(JournalHealingTest, TornWalTailLosesOnlyTheUnfinishedTransaction) {
  const std::string path = MakeTempDir() + "/journal.db";
  auto journal = OpenJournal(path);
  ASSERT_NE(journal, nullptr);
  ASSERT_THAT(journal->Append({{"a", "A"}}, absl::Now()), IsOk());
  const uintmax_t first_size = std::filesystem::file_size(path + "-wal");
  ASSERT_THAT(journal->Append({{"b", std::string(3000, 'b')}}, absl::Now()), IsOk());
  const std::string crashed = CrashSnapshot(path);
  const uintmax_t full_size = std::filesystem::file_size(crashed + "-wal");
  ASSERT_GT(full_size, first_size);
  // Cut the second transaction's last frame in half: its commit never reached the disk.
  std::filesystem::resize_file(crashed + "-wal", full_size - 100);
  auto recovered = OpenJournal(crashed);
  ASSERT_NE(recovered, nullptr);
  EXPECT_FALSE(recovered->recovery().database_replaced);
  EXPECT_THAT(SeqsOf(*recovered->LoadPending()), ElementsAre(1));
  EXPECT_EQ(*recovered->ReadArticle(1), "A");
  EXPECT_THAT(*recovered->Append({{"c", "C"}}, absl::Now()), ElementsAre(2));
}

TEST(JournalHealingTest, FileOfRandomBytesIsMovedAsideAndAFreshJournalStarts) {
  const std::string dir = MakeTempDir();
  const std::string path = dir + "/journal.db";
  const std::string garbage = RandomBytes(64 * 1024, 2);
  WriteFile(path, garbage);
  auto journal = OpenJournal(path);
  ASSERT_NE(journal, nullptr);
  const JournalRecovery recovery = journal->recovery();
  EXPECT_TRUE(recovery.database_replaced);
  EXPECT_THAT(recovery.quarantine_path, HasSubstr(path + ".damaged-"));
  EXPECT_EQ(ReadFile(recovery.quarantine_path), garbage) << "kept for a post-mortem";
  EXPECT_THAT(*journal->LoadPending(), IsEmpty());
  EXPECT_THAT(*journal->Append({{"a", "A"}}, absl::Now()), ElementsAre(1));
}

TEST(JournalHealingTest, DamagedPageIsDetectedAndReadableRecordsAreSalvaged) {
  const std::string path = MakeTempDir() + "/journal.db";
  {
    auto journal = OpenJournal(path);
    ASSERT_NE(journal, nullptr);
    std::vector<NewRecord> records;
    for (int i = 0; i < 200; ++i)
      records.push_back({absl::StrCat("id-", i), std::string(900, 'x')});
    ASSERT_THAT(journal->Append(records, absl::Now()), IsOk());
  }
  // Overwrite the last pages (the newest records' b-tree leaves) with garbage.
  const uintmax_t size = std::filesystem::file_size(path);
  std::string bytes = ReadFile(path);
  const std::string garbage = RandomBytes(8192, 3);
  bytes.replace(size - 8192, 8192, garbage);
  WriteFile(path, bytes);
  auto journal = OpenJournal(path);
  ASSERT_NE(journal, nullptr);
  EXPECT_TRUE(journal->recovery().database_replaced);
  EXPECT_LT(journal->recovery().salvaged_records, 200);
  absl::StatusOr<std::vector<PendingRecord>> pending = journal->LoadPending();
  ASSERT_THAT(pending, IsOk());
  EXPECT_EQ(static_cast<int64_t>(pending->size()), journal->recovery().salvaged_records);
  for (const PendingRecord& record : *pending) {
    EXPECT_EQ(*journal->ReadArticle(record.journal_seq), std::string(900, 'x'));
  }
  EXPECT_THAT(journal->Append({{"new", "N"}}, absl::Now()), IsOk());
}

TEST(JournalHealingTest, FullDiskIsResourceExhaustedLosesNothingAndRecovers) {
  const std::string path = MakeTempDir() + "/journal.db";
  absl::StatusOr<std::unique_ptr<SqliteJournal>> opened =
      SqliteJournal::Open(path, {.fsync = true, .max_bytes = 256 * 1024, .dedup_window = 1000});
  ASSERT_THAT(opened, IsOk());
  SqliteJournal& journal = **opened;
  const std::string article(20 * 1024, 'z');
  std::vector<CommitMark> accepted;
  absl::Status full;
  for (int i = 0; i < 100 && full.ok(); ++i) {
    const std::string id = absl::StrCat("id-", i);
    absl::StatusOr<std::vector<uint64_t>> seqs = journal.Append({{id, article}}, absl::Now());
    if (seqs.ok()) {
      accepted.emplace_back((*seqs)[0], id);
    } else {
      full = seqs.status();
    }
  }
  ASSERT_THAT(full, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("disk is full")));
  ASSERT_GT(accepted.size(), 2u);
  // Everything acknowledged before the disk filled up is still there.
  EXPECT_EQ(SeqsOf(*journal.LoadPending()).size(), accepted.size());
  // Space comes back once sink confirms articles; appends work again.
  ASSERT_THAT(journal.MarkCommitted(accepted), IsOk());
  EXPECT_THAT(journal.Append({{"after", article}}, absl::Now()), IsOk());
}

TEST(JournalHealingTest, DeadLettersKeepTheArticleAndPersistAttemptsAcrossReopen) {
  const std::string path = MakeTempDir() + "/journal.db";
  const absl::Time first = absl::FromUnixSeconds(1700000000);
  const absl::Time last = absl::FromUnixSeconds(1700000100);
  {
    auto journal = OpenJournal(path);
    ASSERT_NE(journal, nullptr);
    ASSERT_THAT(journal->Append({{"a", "A"}, {"poison", "P"}}, first), IsOk());
    ASSERT_THAT(
        journal->RecordFailure(
            1, {.attempts = 2, .first_attempt = first, .last_attempt = last, .reason = "timeout"}),
        IsOk());
    ASSERT_THAT(journal->MoveToDeadLetters(2, {.attempts = 5,
                                               .first_attempt = first,
                                               .last_attempt = last,
                                               .reason = "classifier crashed"}),
                IsOk());
    EXPECT_THAT(journal->MoveToDeadLetters(2, {}), StatusIs(absl::StatusCode::kNotFound));
  }
  auto journal = OpenJournal(path);
  ASSERT_NE(journal, nullptr);
  absl::StatusOr<std::vector<PendingRecord>> pending = journal->LoadPending();
  ASSERT_THAT(pending, IsOk());
  ASSERT_THAT(SeqsOf(*pending), ElementsAre(1));
  EXPECT_EQ((*pending)[0].attempts, 2u) << "attempts survive a restart";
  EXPECT_EQ((*pending)[0].first_attempt, first);
  EXPECT_TRUE(*journal->ContainsId("poison")) << "a dead letter's id still answers DUPLICATE";
  EXPECT_EQ(*journal->CountDeadLetters(), 1);
  absl::StatusOr<std::vector<DeadLetter>> letters = journal->ListDeadLetters(0, 10);
  ASSERT_THAT(letters, IsOk());
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].article_id, "poison");
  EXPECT_EQ((*letters)[0].title, "") << "'P' is no Article, so it has no title";
  EXPECT_EQ((*letters)[0].failure.attempts, 5u);
  EXPECT_EQ((*letters)[0].failure.reason, "classifier crashed");
  EXPECT_EQ((*letters)[0].failure.last_attempt, last);

  EXPECT_THAT(*journal->ReplayDeadLetters({"nope"}, false, 0, 10), IsEmpty());
  absl::StatusOr<std::vector<PendingRecord>> replayed =
      journal->ReplayDeadLetters({"poison"}, false, 0, 10);
  ASSERT_THAT(replayed, IsOk());
  ASSERT_THAT(SeqsOf(*replayed), ElementsAre(2));
  EXPECT_EQ(*journal->CountDeadLetters(), 0);
  pending = journal->LoadPending();
  ASSERT_THAT(SeqsOf(*pending), ElementsAre(1, 2));
  EXPECT_EQ((*pending)[1].attempts, 0u) << "a replay starts a fresh attempt budget";
  EXPECT_EQ(*journal->ReadArticle(2), "P");
  journal.reset();
  journal = OpenJournal(path);
  EXPECT_EQ(journal->recovery().quarantined_records, 0) << "the replayed record's checksum holds";
}

}  // namespace
}  // namespace topicwire::ingest

namespace topicwire::ingest {
namespace {

TEST(JournalHealingTest, JournalFromBeforeChecksumsIsUpgradedAndTrusted) {
  const std::string path = MakeTempDir() + "/journal.db";
  RunSql(path,
         "CREATE TABLE records (journal_seq INTEGER PRIMARY KEY AUTOINCREMENT, article_id TEXT "
         "NOT NULL, article BLOB, accepted_at_us INTEGER NOT NULL, committed INTEGER NOT NULL "
         "DEFAULT 0);"
         "INSERT INTO records (article_id, article, accepted_at_us) VALUES ('old', 'O', 1)");
  auto journal = OpenJournal(path);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->recovery().quarantined_records, 0);
  EXPECT_THAT(SeqsOf(*journal->LoadPending()), ElementsAre(1));
  EXPECT_EQ(*journal->ReadArticle(1), "O");
  EXPECT_THAT(*journal->Append({{"new", "N"}}, absl::Now()), ElementsAre(2));
}

}  // namespace
}  // namespace topicwire::ingest

namespace topicwire::ingest {
namespace {

std::string ArticleTitled(const std::string& title) {
  v1::Article article;
  article.set_title(title);
  article.set_body(std::string(1000, 'b'));
  return article.SerializeAsString();
}

// Dead letters with seqs 1..count (ids dl-1.., titles "title 1"..).
void MakeDeadLetters(Journal& journal, int count) {
  std::vector<NewRecord> records;
  for (int i = 1; i <= count; ++i) {
    records.push_back({absl::StrCat("dl-", i), ArticleTitled(absl::StrCat("title ", i))});
  }
  ASSERT_THAT(journal.Append(records, absl::Now()), IsOk());
  for (int i = 1; i <= count; ++i) {
    ASSERT_THAT(journal.MoveToDeadLetters(i, {.attempts = 5,
                                              .first_attempt = absl::Now(),
                                              .last_attempt = absl::Now(),
                                              .reason = "boom"}),
                IsOk());
  }
}

std::vector<std::string> IdsOf(const std::vector<DeadLetter>& letters) {
  std::vector<std::string> ids;
  for (const DeadLetter& letter : letters) ids.push_back(letter.article_id);
  return ids;
}

// The same paging contract holds for the SQLite journal and the in-memory fake.
class DeadLetterPagingTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      path_ = MakeTempDir() + "/journal.db";
      sqlite_ = OpenJournal(path_);
      ASSERT_NE(sqlite_, nullptr);
      journal_ = sqlite_.get();
    } else {
      journal_ = &memory_;
    }
  }
  std::string path_;
  std::unique_ptr<SqliteJournal> sqlite_;
  InMemoryJournal memory_;
  Journal* journal_ = nullptr;
};

TEST_P(DeadLetterPagingTest, ListPagesOldestFirstFromTheCursorWithTitles) {
  MakeDeadLetters(*journal_, 25);
  absl::StatusOr<std::vector<DeadLetter>> first = journal_->ListDeadLetters(0, 10);
  ASSERT_THAT(first, IsOk());
  ASSERT_EQ(first->size(), 10u);
  EXPECT_EQ(first->front().article_id, "dl-1");
  EXPECT_EQ(first->front().title, "title 1");
  EXPECT_EQ(first->back().journal_seq, 10u);
  absl::StatusOr<std::vector<DeadLetter>> second =
      journal_->ListDeadLetters(first->back().journal_seq, 10);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(IdsOf(*second).front(), "dl-11");
  absl::StatusOr<std::vector<DeadLetter>> last = journal_->ListDeadLetters(20, 10);
  ASSERT_THAT(last, IsOk());
  EXPECT_THAT(IdsOf(*last), ElementsAre("dl-21", "dl-22", "dl-23", "dl-24", "dl-25"));
  EXPECT_THAT(*journal_->ListDeadLetters(25, 10), IsEmpty());
  EXPECT_EQ(*journal_->CountDeadLetters(), 25);
}

TEST_P(DeadLetterPagingTest, ReplayAllGoesAPageAtATimeAndIdsReplayOnlyThose) {
  MakeDeadLetters(*journal_, 25);
  absl::StatusOr<std::vector<PendingRecord>> page = journal_->ReplayDeadLetters({}, true, 0, 10);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->size(), 10u);
  EXPECT_EQ(page->front().article_id, "dl-1");
  EXPECT_EQ(page->back().journal_seq, 10u);
  EXPECT_EQ(*journal_->CountDeadLetters(), 15);
  EXPECT_EQ(journal_->LoadPending()->size(), 10u);

  page = journal_->ReplayDeadLetters({"dl-25", "dl-12", "dl-3", "nope"}, false, 0, 0);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(SeqsOf(*page), ElementsAre(12, 25)) << "dl-3 was replayed already";
  EXPECT_EQ(*journal_->CountDeadLetters(), 13);

  page = journal_->ReplayDeadLetters({}, true, 10, 10);
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->size(), 10u);
  EXPECT_EQ(page->front().journal_seq, 11u);
  page = journal_->ReplayDeadLetters({}, true, page->back().journal_seq, 10);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(SeqsOf(*page), ElementsAre(22, 23, 24));
  EXPECT_EQ(*journal_->CountDeadLetters(), 0);
  EXPECT_EQ(*journal_->ReadArticle(24), ArticleTitled("title 24")) << "the body is back";
}

INSTANTIATE_TEST_SUITE_P(SqliteAndInMemory, DeadLetterPagingTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Sqlite" : "InMemory";
                         });

TEST(DeadLetterPagingTest, ListReadsNoArticleBytes) {
  const std::string path = MakeTempDir() + "/journal.db";
  auto journal = OpenJournal(path);
  ASSERT_NE(journal, nullptr);
  MakeDeadLetters(*journal, 3);
  // Overwrite the kept articles behind the journal's back: a list that parsed them would lose
  // the titles.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE dead_letters SET article = X'FF'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  absl::StatusOr<std::vector<DeadLetter>> letters = journal->ListDeadLetters(0, 10);
  ASSERT_THAT(letters, IsOk());
  ASSERT_EQ(letters->size(), 3u);
  EXPECT_EQ((*letters)[2].title, "title 3");
}

TEST(DeadLetterPagingTest, TitlesOfDeadLettersFromBeforeTitlesWereKeptAreFilledOnOpen) {
  const std::string path = MakeTempDir() + "/journal.db";
  {
    auto journal = OpenJournal(path);
    ASSERT_NE(journal, nullptr);
    MakeDeadLetters(*journal, 2);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "ALTER TABLE dead_letters DROP COLUMN title", nullptr, nullptr, nullptr),
      SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  auto journal = OpenJournal(path);
  ASSERT_NE(journal, nullptr);
  absl::StatusOr<std::vector<DeadLetter>> letters = journal->ListDeadLetters(0, 10);
  ASSERT_THAT(letters, IsOk());
  ASSERT_EQ(letters->size(), 2u);
  EXPECT_EQ((*letters)[1].title, "title 2");
}

}  // namespace
}  // namespace topicwire::ingest
