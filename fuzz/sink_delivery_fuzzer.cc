// Fuzzes what sink does with input from the network, minus the sockets: Delivery frames from the
// workers (parsed and filtered as sink_stage.cc's ReadBatch does, then stored in an in-memory
// SqliteStore and framed as published copies) and one HistoryRequest frame (turned into a
// HistoryQuery by the history service's own ToHistoryQuery, then read). Input: frames as in
// fuzz/frames.h; the last frame is the HistoryRequest, the others are Deliveries.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fuzz/frames.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_init.h"
#include "proto/history.pb.h"
#include "proto/internal.pb.h"
#include "sink/history_service.h"
#include "sink/store.h"
#include "sink/streams.h"

namespace topicwire::sink {
namespace {

void CheckPage(const HistoryQuery& query, const HistoryPage& page, uint64_t head) {
  FUZZ_CHECK(page.head_sequence == head);
  const absl::flat_hash_set<std::string> streams(query.streams.begin(), query.streams.end());
  uint64_t previous = 0;
  absl::flat_hash_set<uint64_t> articles;
  for (const v1::TaggedArticle& copy : page.copies) {
    FUZZ_CHECK(copy.sequence() >= previous);
    previous = copy.sequence();
    articles.insert(copy.sequence());
    if (!query.since.has_value()) FUZZ_CHECK(copy.sequence() > query.after_sequence);
    FUZZ_CHECK(copy.sequence() <= head);
    FUZZ_CHECK(copy.stream_sequence() >= 1);
    if (!streams.empty()) FUZZ_CHECK(streams.contains(copy.stream()));
  }
  FUZZ_CHECK(articles.size() <= query.max_articles);
  if (!page.copies.empty()) FUZZ_CHECK(page.last_sequence >= page.copies.back().sequence());
}

void TestOneInput(const uint8_t* data, size_t size) {
  std::vector<absl::string_view> frames = topicwire::fuzz::SplitFrames(
      absl::string_view(reinterpret_cast<const char*>(data), size), /*max_frames=*/64);
  if (frames.empty()) return;
  const absl::string_view history_frame = frames.back();
  frames.pop_back();

  std::vector<v1::TaggedArticle> articles;
  for (const absl::string_view frame : frames) {
    v1::Delivery delivery;
    if (!delivery.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) continue;
    if (delivery.tagged().article().id().empty()) continue;  // sink drops these
    articles.push_back(delivery.tagged());
  }

  std::vector<const v1::TaggedArticle*> pointers;
  for (const v1::TaggedArticle& article : articles) pointers.push_back(&article);

  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      SqliteStore::Open(SqliteStoreOptions{.path = ":memory:", .fsync = false});
  FUZZ_CHECK(store.ok());
  const absl::Time now = absl::FromUnixSeconds(1'750'000'000);
  if (!articles.empty()) {
    absl::StatusOr<std::vector<StoreOutcome>> outcomes = (*store)->StoreBatch(pointers, now);
    FUZZ_CHECK(outcomes.ok());
    FUZZ_CHECK(outcomes->size() == articles.size());
    absl::flat_hash_map<std::string, uint64_t> sequence_of_id;
    absl::flat_hash_map<std::string, uint64_t> last_stream_sequence;
    uint64_t previous = 0;
    for (size_t i = 0; i < outcomes->size(); ++i) {
      const StoreOutcome& outcome = (*outcomes)[i];
      const std::string& id = articles[i].article().id();
      auto [it, first] = sequence_of_id.emplace(id, outcome.sequence);
      // Idempotent by id: the first copy in the batch is stored, later ones are duplicates.
      FUZZ_CHECK(outcome.newly_stored == first);
      FUZZ_CHECK(outcome.sequence == it->second);
      if (!outcome.newly_stored) {
        FUZZ_CHECK(outcome.streams.empty());
        continue;
      }
      FUZZ_CHECK(outcome.sequence == previous + 1);
      previous = outcome.sequence;
      const std::vector<std::string> streams = StreamsOf(articles[i]);
      FUZZ_CHECK(outcome.streams.size() == streams.size());
      for (size_t c = 0; c < outcome.streams.size(); ++c) {
        // What the stage publishes for this copy.
        const Frames frames = CopyFrames(outcome.serialized, outcome.streams[c]);
        FUZZ_CHECK(frames.size() == 2);
        v1::TaggedArticle copy;
        FUZZ_CHECK(copy.ParseFromArray(frames[1].data(), static_cast<int>(frames[1].size())));
        FUZZ_CHECK(frames[0].to_string() == copy.stream());
        FUZZ_CHECK(copy.article().id() == id);
        FUZZ_CHECK(copy.stream() == streams[c]);
        FUZZ_CHECK(copy.sequence() == outcome.sequence);
        // Per-stream sequences have no holes.
        FUZZ_CHECK(copy.stream_sequence() == ++last_stream_sequence[copy.stream()]);
      }
    }
    FUZZ_CHECK((*store)->head_sequence() == previous);
    // Redelivery of the whole batch stores nothing new.
    absl::StatusOr<std::vector<StoreOutcome>> again = (*store)->StoreBatch(pointers, now);
    FUZZ_CHECK(again.ok());
    for (const StoreOutcome& outcome : *again) FUZZ_CHECK(!outcome.newly_stored);
    FUZZ_CHECK((*store)->head_sequence() == previous);
  }

  v1::HistoryRequest request;
  if (!request.ParseFromArray(history_frame.data(), static_cast<int>(history_frame.size()))) {
    return;
  }
  // sink's history defaults, with a smaller page so that a run stays fast.
  absl::StatusOr<HistoryQuery> query =
      ToHistoryQuery(request, HistoryOptions{.max_reply_bytes = size_t{1} << 20});
  if (!query.ok()) return;  // sink answers with the error
  absl::StatusOr<HistoryPage> page = (*store)->ReadHistory(*query);
  FUZZ_CHECK(page.ok());
  CheckPage(*query, *page, (*store)->head_sequence());
}

}  // namespace
}  // namespace topicwire::sink

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  topicwire::sink::TestOneInput(data, size);
  return 0;
}
