// The publish handler: answers publishers' PublishRequests with one ack per article and makes
// the accepted ones durable together, in one journal transaction per batch (group commit).
#ifndef TOPICWIRE_INGEST_PUBLISH_HANDLER_H_
#define TOPICWIRE_INGEST_PUBLISH_HANDLER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ingest/dispatcher.h"
#include "ingest/ingest_metrics.h"
#include "ingest/journal.h"
#include "ingest/request_parser.h"
#include "proto/article.pb.h"

namespace topicwire::ingest {

struct PublishHandlerOptions {
  // Largest serialized Article accepted, in bytes.
  int64_t max_article_bytes = 1 << 20;
  // Most articles one PublishRequest may hold; a larger request is refused whole.
  int64_t max_articles_per_request = kDefaultMaxArticlesPerRequest;
  // Articles accepted and not yet confirmed by sink; at this many, new articles get BUSY.
  int64_t max_pending = 100'000;
};

// One PublishRequest as read from the socket, and the reply Handle() prepares for it.
struct PublishRequest {
  absl::string_view publisher;  // routing id, for the log
  absl::string_view payload;    // the serialized PublishRequest
  v1::PublishReply reply;
};

// Not thread-safe: the stage thread owns it.
class PublishHandler {
 public:
  // Bounds the memory one group commit holds: the stage stops reading requests into one batch
  // at this many payload bytes (and at IngestOptions::max_requests_per_commit requests).
  static constexpr size_t kMaxGroupCommitBytes = 64 << 20;

  // `journal`, `dispatcher` and `metrics` must outlive the handler.
  PublishHandler(const PublishHandlerOptions& options, Journal& journal, Dispatcher& dispatcher,
                 IngestMetrics& metrics)
      : options_(options), journal_(journal), dispatcher_(dispatcher), metrics_(metrics) {}

  // Fills every request's reply: each article REJECTED (with the reason), DUPLICATE, BUSY
  // (too many pending, or the journal write failed) or ACCEPTED. The accepted articles of all
  // `requests` are appended in one journal transaction before this returns and handed to the
  // dispatcher; when that write fails, they are answered BUSY instead and nothing is kept.
  void Handle(std::vector<PublishRequest>& requests);

 private:
  // What one batch has gathered so far.
  struct Batch {
    std::vector<NewRecord> records;
    std::vector<v1::PublishAck*> accepted_acks;  // parallel to `records`
    absl::flat_hash_set<std::string> ids;
    absl::Status journal_error;
  };
  void ProcessRequest(PublishRequest& request, Batch& batch);
  // Appends the batch's records; on failure answers them BUSY.
  void CommitBatch(Batch& batch);

  const PublishHandlerOptions options_;
  Journal& journal_;
  Dispatcher& dispatcher_;
  IngestMetrics& metrics_;
};

}  // namespace topicwire::ingest

#endif  // TOPICWIRE_INGEST_PUBLISH_HANDLER_H_
