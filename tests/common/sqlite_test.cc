// The SQLite layer on real database files in a temporary directory.
#include "common/sqlite.h"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "tests/testing/prelude.h"

namespace topicwire::sqlite {
namespace {

using namespace ::topicwire::testing::prelude;

std::unique_ptr<Database> OpenOrDie(const std::string& path, DatabaseOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path, options);
  EXPECT_THAT(db, IsOk());
  return db.ok() ? *std::move(db) : nullptr;
}

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = MakeTempDir() + "/a/b/test.db";
    db_ = OpenOrDie(path_, {.name = "test db", .pragmas = {"PRAGMA journal_mode = WAL"}});
    ASSERT_NE(db_, nullptr);
    ASSERT_THAT(db_->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, data BLOB)"), IsOk());
  }

  // Inserts one row; returns the status of the insert.
  absl::Status Insert(int64_t id, absl::string_view name) {
    absl::StatusOr<Statement> insert = db_->Prepare("INSERT INTO t (id, name) VALUES (?, ?)");
    if (!insert.ok()) return insert.status();
    insert->BindInt(1, id);
    insert->BindText(2, name);
    return insert->Run();
  }

  std::string path_;
  std::unique_ptr<Database> db_;
};

TEST_F(SqliteTest, OpenCreatesParentDirectoriesAndRunsThePragmas) {
  EXPECT_TRUE(std::filesystem::exists(path_));
  std::unique_ptr<Database> other =
      OpenOrDie(MakeTempDir() + "/x.db", {.pragmas = {"PRAGMA user_version = 7"}});
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(*other->QueryInt("PRAGMA user_version"), 7);
}

TEST_F(SqliteTest, BindsStepsAndReadsColumns) {
  absl::StatusOr<Statement> insert =
      db_->Prepare("INSERT INTO t (id, name, data) VALUES (?1, ?2, ?3)");
  ASSERT_THAT(insert, IsOk());
  const std::string blob("a\0b", 3);
  insert->BindInt(1, 1);
  insert->BindText(2, "one");
  insert->BindBlob(3, blob);
  ASSERT_THAT(insert->Run(), IsOk());
  EXPECT_EQ(db_->changes(), 1);
  insert->Reset();
  insert->BindInt(1, 2);  // name and data stay NULL: Reset() cleared the bindings
  ASSERT_THAT(insert->Run(), IsOk());

  absl::StatusOr<Statement> select = db_->Prepare("SELECT id, name, data FROM t ORDER BY id");
  ASSERT_THAT(select, IsOk());
  ASSERT_EQ(*select->Step(), true);
  EXPECT_EQ(select->ColumnInt(0), 1);
  EXPECT_EQ(select->ColumnText(1), "one");
  EXPECT_EQ(select->ColumnText(2), blob);
  EXPECT_FALSE(select->ColumnIsNull(2));
  ASSERT_EQ(*select->Step(), true);
  EXPECT_TRUE(select->ColumnIsNull(1));
  EXPECT_EQ(select->ColumnView(2), "");
  EXPECT_EQ(*select->Step(), false);
}

TEST_F(SqliteTest, CachedStatementsComeBackResetAndAreNotSharedWhileBorrowed) {
  ASSERT_THAT(Insert(1, "one"), IsOk());
  ASSERT_THAT(Insert(2, "two"), IsOk());
  const char* const kSql = "SELECT name FROM t WHERE id >= ? ORDER BY id";
  {
    absl::StatusOr<Statement> outer = db_->Prepare(kSql);
    ASSERT_THAT(outer, IsOk());
    outer->BindInt(1, 1);
    ASSERT_EQ(*outer->Step(), true);
    EXPECT_EQ(outer->ColumnText(0), "one");
    {
      // The same SQL while `outer` is in the middle of its rows: a statement of its own.
      absl::StatusOr<Statement> inner = db_->Prepare(kSql);
      ASSERT_THAT(inner, IsOk());
      inner->BindInt(1, 2);
      ASSERT_EQ(*inner->Step(), true);
      EXPECT_EQ(inner->ColumnText(0), "two");
    }
    ASSERT_EQ(*outer->Step(), true);
    EXPECT_EQ(outer->ColumnText(0), "two");
  }  // left before its last Step()
  // Back from the cache: starts again from the first row with no bindings (NULL matches none).
  absl::StatusOr<Statement> again = db_->Prepare(kSql);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(*again->Step(), false);
}

TEST_F(SqliteTest, ALeftReadIsEndedSoAnotherConnectionCanCheckpoint) {
  ASSERT_THAT(Insert(1, "one"), IsOk());
  ASSERT_THAT(Insert(2, "two"), IsOk());
  {
    absl::StatusOr<Statement> select = db_->Prepare("SELECT name FROM t");
    ASSERT_THAT(select, IsOk());
    ASSERT_EQ(*select->Step(), true);  // a read transaction stays open until reset
  }
  std::unique_ptr<Database> other = OpenOrDie(path_);
  ASSERT_NE(other, nullptr);
  // TRUNCATE waits for readers; with the read ended it completes: busy = 0.
  absl::StatusOr<Statement> checkpoint = other->Prepare("PRAGMA wal_checkpoint(TRUNCATE)");
  ASSERT_THAT(checkpoint, IsOk());
  ASSERT_EQ(*checkpoint->Step(), true);
  EXPECT_EQ(checkpoint->ColumnInt(0), 0);
}

TEST_F(SqliteTest, ReadRowsCollectsEveryRowInOrder) {
  ASSERT_THAT(Insert(2, "two"), IsOk());
  ASSERT_THAT(Insert(1, "one"), IsOk());
  absl::StatusOr<Statement> select = db_->Prepare("SELECT name FROM t ORDER BY id");
  ASSERT_THAT(select, IsOk());
  absl::StatusOr<std::vector<std::string>> names =
      select->ReadRows([](Statement& row) { return row.ColumnText(0); });
  ASSERT_THAT(names, IsOk());
  EXPECT_THAT(*names, ::testing::ElementsAre("one", "two"));
}

TEST_F(SqliteTest, TransactionRollsBackUnlessCommitted) {
  {
    Transaction transaction(*db_);
    ASSERT_THAT(transaction.Begin(), IsOk());
    ASSERT_THAT(Insert(1, "lost"), IsOk());
  }
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM t"), 0);
  {
    Transaction transaction(*db_);
    ASSERT_THAT(transaction.Begin(), IsOk());
    ASSERT_THAT(Insert(2, "kept"), IsOk());
    ASSERT_THAT(transaction.Commit(), IsOk());
  }
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM t"), 1);
}

TEST_F(SqliteTest, BeginFailsWhileAnotherConnectionWrites) {
  std::unique_ptr<Database> other = OpenOrDie(path_, {.name = "other", .busy_timeout_ms = 0});
  ASSERT_NE(other, nullptr);
  Transaction writer(*db_);
  ASSERT_THAT(writer.Begin(), IsOk());
  Transaction blocked(*other);
  EXPECT_THAT(blocked.Begin(), StatusIs(absl::StatusCode::kUnavailable,
                                        AllOf(HasSubstr("other"), HasSubstr("BEGIN IMMEDIATE"),
                                              HasSubstr("database is locked"))));
  EXPECT_EQ(other->error_code(), SQLITE_BUSY);
}

TEST_F(SqliteTest, ErrorsNameTheDatabaseTheSqlAndSqlitesReason) {
  EXPECT_THAT(db_->Prepare("SELECT *\n  FROM missing"),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("test db: 'SELECT * FROM missing' failed"),
                             HasSubstr("no such table: missing"))));
  ASSERT_THAT(Insert(1, "one"), IsOk());
  EXPECT_THAT(Insert(1, "again"),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("INSERT INTO t"), HasSubstr("UNIQUE constraint failed"))));
  EXPECT_THAT(db_->QueryInt("SELECT id FROM t WHERE id = 99"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("returned no row")));
  EXPECT_THAT(db_->PrepareUncached("SELEKT 1"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("syntax error")));
}

TEST_F(SqliteTest, AFullDiskIsVisibleAsSqliteFull) {
  ASSERT_THAT(db_->Exec("PRAGMA max_page_count = 8"), IsOk());
  absl::StatusOr<Statement> insert = db_->Prepare("INSERT INTO t (id, data) VALUES (?, ?)");
  ASSERT_THAT(insert, IsOk());
  const std::string big(64 * 1024, 'x');
  insert->BindInt(1, 1);
  insert->BindBlob(2, big);
  EXPECT_THAT(insert->Run(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("full")));
  EXPECT_EQ(db_->error_code(), SQLITE_FULL);
}

TEST(SqliteOpenTest, AFileThatIsNotADatabaseIsDataLoss) {
  const std::string path = MakeTempDir() + "/garbage.db";
  std::ofstream(path) << std::string(4096, 'g');
  EXPECT_THAT(Database::Open(path, {.pragmas = {"PRAGMA journal_mode = WAL"}}),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not a database")));
}

TEST(SqliteOpenTest, WithoutCreateAMissingFileIsAnError) {
  const std::string path = MakeTempDir() + "/missing.db";
  EXPECT_THAT(Database::Open(path, {.name = "reader", .create = false}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("reader: cannot open")));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(SqliteOpenTest, AnUncreatableDirectoryIsAnActionableError) {
  EXPECT_THAT(Database::Open("/proc/no/such/x.db", {.name = "journal x"}),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("journal x: cannot create the directory /proc/no/such")));
}

}  // namespace
}  // namespace topicwire::sqlite
