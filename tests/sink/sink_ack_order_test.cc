// sink confirms a delivery to ingest (CommitAck) only after the delivery is stored: an ack sent
// earlier lets ingest forget an article that a crash of sink would then lose. The store here
// holds every batch at a gate until the test opens it, so the order is seen, not raced.
#include <atomic>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/shutdown.h"
#include "common/zmq_channel.h"
#include "proto/internal.pb.h"
#include "sink/sink_stage.h"
#include "sink/store.h"
#include "tests/testing/prelude.h"

namespace topicwire::sink {
namespace {

using namespace ::topicwire::testing::prelude;

// A SqliteStore whose StoreBatch waits until Open() was called (or 10 s passed).
class GatedStore : public Store {
 public:
  explicit GatedStore(std::unique_ptr<SqliteStore> store) : store_(std::move(store)) {}

  absl::StatusOr<std::vector<StoreOutcome>> StoreBatch(
      const std::vector<const v1::TaggedArticle*>& articles, absl::Time now) override {
    batches_waiting_ = true;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!open_condition_.wait_for(lock, std::chrono::seconds(10), [&] { return open_; })) {
        return absl::DeadlineExceededError("the test never opened the gate");
      }
    }
    absl::StatusOr<std::vector<StoreOutcome>> outcomes = store_->StoreBatch(articles, now);
    stored_ += static_cast<int>(articles.size());
    return outcomes;
  }
  absl::StatusOr<HistoryPage> ReadHistory(const HistoryQuery& query) override {
    return store_->ReadHistory(query);
  }
  uint64_t head_sequence() const override { return store_->head_sequence(); }
  absl::StatusOr<int64_t> SizeBytes() override { return store_->SizeBytes(); }

  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    open_condition_.notify_all();
  }
  bool batch_waiting() const { return batches_waiting_; }
  int stored() const { return stored_; }

 private:
  std::unique_ptr<SqliteStore> store_;
  std::mutex mutex_;
  std::condition_variable open_condition_;
  bool open_ = false;
  std::atomic<bool> batches_waiting_{false};
  std::atomic<int> stored_{0};
};

TEST(SinkAckOrderTest, CommitAckIsSentOnlyAfterTheDeliveryIsStored) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> sqlite =
      SqliteStore::Open({.path = MakeTempDir() + "/store.db"});
  ASSERT_THAT(sqlite, IsOk());
  GatedStore store(*std::move(sqlite));
  zmq::context_t context;
  // inproc: a message sent is in the receiver's queue when the send returns, so an early ack is
  // already waiting by the time the store is entered.
  zmq::socket_t ingest(context, zmq::socket_type::pull);
  ASSERT_THAT(ConfigureSocket(ingest, 0), IsOk());
  ASSERT_THAT(Bind(ingest, "inproc://ack-order-commit"), IsOk());
  SinkOptions options;
  options.input_endpoint = "inproc://ack-order-input";
  options.stream_endpoint = "inproc://ack-order-stream";
  options.history_endpoint = "inproc://ack-order-history";
  options.commit_endpoint = "inproc://ack-order-commit";
  options.linger_ms = 0;
  absl::StatusOr<Shutdown> shutdown = Shutdown::Manual();
  ASSERT_THAT(shutdown, IsOk());
  std::future<absl::Status> stage = std::async(
      std::launch::async, [&] { return RunStage(context, options, store, shutdown->fd()); });

  zmq::socket_t worker(context, zmq::socket_type::push);
  ASSERT_THAT(ConfigureSocket(worker, 0), IsOk());
  ASSERT_THAT(Connect(worker, options.input_endpoint), IsOk());
  v1::Delivery delivery;
  delivery.set_journal_seq(7);
  delivery.mutable_tagged()->mutable_article()->set_id("a-7");
  delivery.mutable_tagged()->mutable_article()->set_title("Gated");
  ASSERT_THAT(SendProto(worker, delivery), IsOk());

  ASSERT_TRUE(WaitFor([&] { return store.batch_waiting(); }, absl::Seconds(5)))
      << "the delivery never reached the store";
  // The batch is held before it is stored: no ack may be out yet. (A correct stage sends
  // nothing until the gate opens; the wait only bounds how long we look.)
  std::vector<zmq::pollitem_t> items = {{ingest.handle(), 0, ZMQ_POLLIN, 0}};
  ASSERT_THAT(topicwire::Poll(items, absl::Milliseconds(200)), IsOk());
  EXPECT_FALSE(items[0].revents & ZMQ_POLLIN) << "a CommitAck was sent before the store had it";

  store.Open();
  ingest.set(zmq::sockopt::rcvtimeo, 5000);  // a hung stage fails the test instead of CI
  bool acked = false;
  while (!acked) {
    Frames frames;
    absl::StatusOr<bool> received = RecvFrames(ingest, frames);
    ASSERT_THAT(received, IsOk());
    ASSERT_TRUE(*received) << "no CommitAck within 5s after the store had the delivery";
    v1::CommitAck ack;
    ASSERT_THAT(ParseFrame(frames.back(), ack), IsOk());
    for (const v1::CommitAck::Committed& committed : ack.committed()) {
      if (committed.journal_seq() != 7) continue;
      EXPECT_EQ(committed.article_id(), "a-7");
      EXPECT_EQ(store.stored(), 1) << "acknowledged, yet not stored";
      acked = true;
    }
  }
  shutdown->Trigger();
  EXPECT_THAT(stage.get(), IsOk());
}

}  // namespace
}  // namespace topicwire::sink
