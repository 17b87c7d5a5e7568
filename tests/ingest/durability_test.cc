// "ACCEPTED means durable": the journal's write-ahead log is fsync'd before Append returns and
// before a publisher sees ACCEPTED. A kill -9 cannot tell an fsync'd journal from one left in the
// page cache, so the test watches the syncs themselves: a SQLite VFS that wraps the default one
// counts the WAL writes made since the last sync.
#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/shutdown.h"
#include "common/zmq_channel.h"
#include "ingest/ingest_stage.h"
#include "ingest/journal.h"
#include "proto/article.pb.h"
#include "tests/testing/prelude.h"

namespace topicwire::ingest {
namespace {

using namespace ::topicwire::testing::prelude;

// What the VFS saw on WAL files. Written by whichever thread runs SQLite (the stage's), read by
// the test after a reply that the stage sent after its writes.
struct WalActivity {
  std::atomic<int64_t> writes{0};           // xWrite calls
  std::atomic<int64_t> syncs{0};            // xSync calls
  std::atomic<int64_t> unsynced_writes{0};  // xWrite calls since the last xSync of that file
};
WalActivity wal_activity;

// The VFS file: our header, then the wrapped VFS's own file object in the same allocation.
struct CountingFile {
  sqlite3_file base;  // first: SQLite reads pMethods from here
  sqlite3_file* real;
  bool is_wal;
};

sqlite3_vfs* RealVfs();
sqlite3_file* Real(sqlite3_file* file) { return reinterpret_cast<CountingFile*>(file)->real; }

int Close(sqlite3_file* file) {
  const int rc = Real(file)->pMethods->xClose(Real(file));
  if (reinterpret_cast<CountingFile*>(file)->is_wal) wal_activity.unsynced_writes = 0;
  return rc;
}
int Read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  return Real(file)->pMethods->xRead(Real(file), buffer, amount, offset);
}
int Write(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
  const int rc = Real(file)->pMethods->xWrite(Real(file), buffer, amount, offset);
  if (reinterpret_cast<CountingFile*>(file)->is_wal) {
    ++wal_activity.writes;
    ++wal_activity.unsynced_writes;
  }
  return rc;
}
int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  return Real(file)->pMethods->xTruncate(Real(file), size);
}
int Sync(sqlite3_file* file, int flags) {
  const int rc = Real(file)->pMethods->xSync(Real(file), flags);
  if (rc == SQLITE_OK && reinterpret_cast<CountingFile*>(file)->is_wal) {
    ++wal_activity.syncs;
    wal_activity.unsynced_writes = 0;
  }
  return rc;
}
int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  return Real(file)->pMethods->xFileSize(Real(file), size);
}
int Lock(sqlite3_file* file, int level) { return Real(file)->pMethods->xLock(Real(file), level); }
int Unlock(sqlite3_file* file, int level) {
  return Real(file)->pMethods->xUnlock(Real(file), level);
}
int CheckReservedLock(sqlite3_file* file, int* out) {
  return Real(file)->pMethods->xCheckReservedLock(Real(file), out);
}
int FileControl(sqlite3_file* file, int op, void* arg) {
  return Real(file)->pMethods->xFileControl(Real(file), op, arg);
}
int SectorSize(sqlite3_file* file) { return Real(file)->pMethods->xSectorSize(Real(file)); }
int DeviceCharacteristics(sqlite3_file* file) {
  return Real(file)->pMethods->xDeviceCharacteristics(Real(file));
}
int ShmMap(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
  return Real(file)->pMethods->xShmMap(Real(file), page, size, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
  return Real(file)->pMethods->xShmLock(Real(file), offset, n, flags);
}
void ShmBarrier(sqlite3_file* file) { Real(file)->pMethods->xShmBarrier(Real(file)); }
int ShmUnmap(sqlite3_file* file, int delete_flag) {
  return Real(file)->pMethods->xShmUnmap(Real(file), delete_flag);
}

// Version 2: without xFetch/xUnfetch SQLite reads pages instead of memory-mapping them.
const sqlite3_io_methods kCountingMethods = {.iVersion = 2,
                                             .xClose = Close,
                                             .xRead = Read,
                                             .xWrite = Write,
                                             .xTruncate = Truncate,
                                             .xSync = Sync,
                                             .xFileSize = FileSize,
                                             .xLock = Lock,
                                             .xUnlock = Unlock,
                                             .xCheckReservedLock = CheckReservedLock,
                                             .xFileControl = FileControl,
                                             .xSectorSize = SectorSize,
                                             .xDeviceCharacteristics = DeviceCharacteristics,
                                             .xShmMap = ShmMap,
                                             .xShmLock = ShmLock,
                                             .xShmBarrier = ShmBarrier,
                                             .xShmUnmap = ShmUnmap,
                                             .xFetch = nullptr,  // version 2: never called
                                             .xUnfetch = nullptr};

int Open(sqlite3_vfs* /*vfs*/, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* counting = reinterpret_cast<CountingFile*>(file);
  counting->real = reinterpret_cast<sqlite3_file*>(counting + 1);
  counting->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  counting->base.pMethods = nullptr;
  const int rc = RealVfs()->xOpen(RealVfs(), name, counting->real, flags, out_flags);
  // SQLite calls xClose whenever pMethods is set, even after a failed open.
  if (counting->real->pMethods != nullptr) counting->base.pMethods = &kCountingMethods;
  return rc;
}

sqlite3_vfs* RealVfs() {
  static sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  return real;
}

// Registers the counting VFS as the default once; every journal opened afterwards uses it.
void InstallCountingVfs() {
  static const bool installed = [] {
    static sqlite3_vfs vfs;
    std::memcpy(&vfs, RealVfs(), sizeof(vfs));
    vfs.pNext = nullptr;
    vfs.zName = "topicwire-counting";
    vfs.szOsFile = static_cast<int>(sizeof(CountingFile)) + RealVfs()->szOsFile;
    vfs.xOpen = Open;
    return sqlite3_vfs_register(&vfs, /*makeDflt=*/1) == SQLITE_OK;
  }();
  ASSERT_TRUE(installed);
}

std::vector<NewRecord> OneRecord(const std::string& id) {
  v1::Article article;
  article.set_id(id);
  article.set_title("Title of " + id);
  return {NewRecord{.article_id = id, .serialized_article = article.SerializeAsString()}};
}

TEST(JournalDurabilityTest, AppendReturnsOnlyAfterItsWalWritesAreSynced) {
  InstallCountingVfs();
  absl::StatusOr<std::unique_ptr<SqliteJournal>> journal =
      SqliteJournal::Open(MakeTempDir() + "/journal.db", {});
  ASSERT_THAT(journal, IsOk());
  for (int i = 0; i < 3; ++i) {
    const int64_t writes = wal_activity.writes;
    const int64_t syncs = wal_activity.syncs;
    ASSERT_THAT((*journal)->Append(OneRecord(absl::StrCat("a-", i)), absl::Now()), IsOk());
    EXPECT_GT(wal_activity.writes.load(), writes) << "the append did not reach the WAL";
    EXPECT_GT(wal_activity.syncs.load(), syncs) << "append " << i << " returned without an fsync";
    EXPECT_EQ(wal_activity.unsynced_writes.load(), 0) << "append " << i << " left writes unsynced";
  }
}

// The instrument itself: with --fsync=false the same appends leave writes unsynced, so the test
// above would notice a journal that stopped syncing.
TEST(JournalDurabilityTest, WithoutFsyncTheSameAppendsAreSeenUnsynced) {
  InstallCountingVfs();
  absl::StatusOr<std::unique_ptr<SqliteJournal>> journal =
      SqliteJournal::Open(MakeTempDir() + "/journal.db", {.fsync = false});
  ASSERT_THAT(journal, IsOk());
  ASSERT_THAT((*journal)->Append(OneRecord("a-1"), absl::Now()), IsOk());
  EXPECT_GT(wal_activity.unsynced_writes.load(), 0);
}

TEST(JournalDurabilityTest, PublisherSeesAcceptedOnlyAfterTheJournalIsSynced) {
  InstallCountingVfs();
  zmq::context_t context;
  IngestOptions options;
  options.journal_path = MakeTempDir() + "/journal.db";
  options.publish_endpoint = "inproc://durability-publish";
  options.work_endpoint = "inproc://durability-work";
  options.commit_endpoint = "inproc://durability-commit";
  options.linger_ms = 0;
  options.readiness = NewIngestReadiness();
  absl::StatusOr<Shutdown> shutdown = Shutdown::Manual();
  ASSERT_THAT(shutdown, IsOk());
  std::future<absl::Status> stage =
      std::async(std::launch::async, [&] { return RunStage(context, options, shutdown->fd()); });
  ASSERT_TRUE(WaitFor([&] { return options.readiness->Ready().ok(); }, absl::Seconds(5)));

  zmq::socket_t publisher(context, zmq::socket_type::dealer);
  ASSERT_THAT(ConfigureSocket(publisher, 0), IsOk());
  publisher.set(zmq::sockopt::rcvtimeo, 5000);  // a hung stage fails the test, not CI
  ASSERT_THAT(Connect(publisher, options.publish_endpoint), IsOk());
  for (int i = 0; i < 3; ++i) {
    const int64_t syncs = wal_activity.syncs;
    v1::PublishRequest request;
    request.add_articles()->set_title(absl::StrCat("Durable article ", i));
    ASSERT_THAT(SendProto(publisher, request), IsOk());
    Frames reply_frames;
    absl::StatusOr<bool> got = RecvFrames(publisher, reply_frames);
    ASSERT_THAT(got, IsOk());
    ASSERT_TRUE(*got) << "no reply within 5s";
    // Read the counters before anything else can touch the journal.
    const int64_t unsynced = wal_activity.unsynced_writes;
    const int64_t syncs_after = wal_activity.syncs;
    v1::PublishReply reply;
    ASSERT_THAT(ParseFrame(reply_frames.back(), reply), IsOk());
    ASSERT_EQ(reply.acks_size(), 1);
    ASSERT_EQ(reply.acks(0).status(), v1::PublishAck::ACCEPTED) << reply.acks(0).reason();
    EXPECT_GT(syncs_after, syncs) << "ACCEPTED " << i << " was sent without an fsync";
    EXPECT_EQ(unsynced, 0) << "ACCEPTED " << i << " was sent with journal writes not yet synced";
  }
  shutdown->Trigger();
  EXPECT_THAT(stage.get(), IsOk());
}

}  // namespace
}  // namespace topicwire::ingest
