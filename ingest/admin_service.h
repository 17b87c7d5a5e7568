// The admin service: answers AdminRequests (proto/admin.proto) about the dead letters, listing
// them or replaying them with a fresh attempt budget, a bounded page at a time.
#ifndef TOPICWIRE_INGEST_ADMIN_SERVICE_H_
#define TOPICWIRE_INGEST_ADMIN_SERVICE_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "ingest/dispatcher.h"
#include "ingest/ingest_metrics.h"
#include "ingest/journal.h"
#include "proto/admin.pb.h"

namespace topicwire::ingest {

struct AdminServiceOptions {
  // Most dead letters in one reply (a larger or zero page_size asks for this many), and most
  // ids in one replay request; also what a whole replay does per turn of the stage's loop.
  int64_t max_page_size = 1000;
  // A list reply stops adding dead letters before it reaches this size.
  int64_t max_reply_bytes = 1 << 20;
};

// Not thread-safe: the stage thread owns it.
class AdminService {
 public:
  // `journal`, `dispatcher` and `metrics` must outlive the service.
  AdminService(const AdminServiceOptions& options, Journal& journal, Dispatcher& dispatcher,
               IngestMetrics& metrics)
      : options_(options), journal_(journal), dispatcher_(dispatcher), metrics_(metrics) {}

  // The reply to one serialized AdminRequest; its error is set when the request is malformed
  // or the journal fails. Replayed dead letters are handed to the dispatcher. Nothing when the
  // request started a replay of every dead letter without a page size: it goes on in
  // ContinueReplay(), which returns the reply once it is done.
  std::optional<v1::AdminReply> Handle(absl::string_view request);

  // True while a replay of every dead letter is under way.
  bool replaying() const { return replay_.has_value(); }
  // Replays the next page of the replay under way; its reply once the last page is done (or the
  // journal failed). REQUIRES: replaying().
  std::optional<v1::AdminReply> ContinueReplay();

 private:
  struct ReplayInProgress {
    uint64_t after_seq = 0;
    uint64_t replayed = 0;
  };

  void ListDeadLetters(const v1::DeadLetterListRequest& request, v1::AdminReply& reply);
  // Returns false when the replay goes on in ContinueReplay().
  bool ReplayDeadLetters(const v1::DeadLetterReplayRequest& request, v1::AdminReply& reply);
  // A request's page size, bounded by the maximum.
  int64_t PageSize(uint32_t requested) const;
  // Makes the records pending again (fresh attempt budget) and updates the gauge.
  void HandOver(std::vector<PendingRecord>& replayed);

  const AdminServiceOptions options_;
  Journal& journal_;
  Dispatcher& dispatcher_;
  IngestMetrics& metrics_;
  std::optional<ReplayInProgress> replay_;
};

}  // namespace topicwire::ingest

#endif  // TOPICWIRE_INGEST_ADMIN_SERVICE_H_
