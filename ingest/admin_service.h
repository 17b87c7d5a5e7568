// The admin service: answers AdminRequests (proto/admin.proto) about the dead letters, listing
// them or replaying them with a fresh attempt budget.
#ifndef TOPICWIRE_INGEST_ADMIN_SERVICE_H_
#define TOPICWIRE_INGEST_ADMIN_SERVICE_H_

#include "absl/strings/string_view.h"
#include "ingest/dispatcher.h"
#include "ingest/ingest_metrics.h"
#include "ingest/journal.h"
#include "proto/admin.pb.h"

namespace topicwire::ingest {

// Not thread-safe: the stage thread owns it.
class AdminService {
 public:
  // `journal`, `dispatcher` and `metrics` must outlive the service.
  AdminService(Journal& journal, Dispatcher& dispatcher, IngestMetrics& metrics)
      : journal_(journal), dispatcher_(dispatcher), metrics_(metrics) {}

  // The reply to one serialized AdminRequest; its error is set when the request is malformed
  // or the journal fails. Replayed dead letters are handed to the dispatcher.
  v1::AdminReply Handle(absl::string_view request);

 private:
  void ListDeadLetters(v1::AdminReply& reply);
  void ReplayDeadLetters(const v1::DeadLetterReplayRequest& request, v1::AdminReply& reply);

  Journal& journal_;
  Dispatcher& dispatcher_;
  IngestMetrics& metrics_;
};

}  // namespace topicwire::ingest

#endif  // TOPICWIRE_INGEST_ADMIN_SERVICE_H_
