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
#include "absl/types/span.h"
#include "common/zmq_channel.h"
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
  // at this many bytes of messages, envelope included (and at
  // IngestOptions::max_requests_per_commit requests); see GroupCommitBudget.
  static constexpr size_t kMaxGroupCommitBytes = 64 << 20;
  // Bounds the replies one group commit builds before any is sent: a reply can be several times
  // the size of its request (one ack per article, with its id and reason), so Handle() stops at
  // the request whose reply brings them to this many bytes and commits what it has.
  static constexpr size_t kMaxGroupCommitReplyBytes = 1 << 20;

  // `journal`, `dispatcher` and `metrics` must outlive the handler.
  PublishHandler(const PublishHandlerOptions& options, Journal& journal, Dispatcher& dispatcher,
                 IngestMetrics& metrics)
      : options_(options), journal_(journal), dispatcher_(dispatcher), metrics_(metrics) {}

  // Fills the replies of the first requests, in order, until their replies hold
  // `max_reply_bytes` bytes (at least one request is handled): each article REJECTED (with the
  // reason), DUPLICATE, BUSY (too many pending, or the journal write failed) or ACCEPTED. The
  // accepted articles of the handled requests are appended in one journal transaction before
  // this returns and handed to the dispatcher; when that write fails, they are answered BUSY
  // instead and nothing is kept. Returns how many requests were handled; the caller sends their
  // replies before handing the rest to the next call.
  size_t Handle(absl::Span<PublishRequest> requests,
                size_t max_reply_bytes = kMaxGroupCommitReplyBytes);

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

// What the stage may still read into one group commit. Every frame of a message counts: the
// routing envelope (routing ids and delimiters) is chosen by the client and is held, and sent
// back, just like the payload.
class GroupCommitBudget {
 public:
  explicit GroupCommitBudget(int max_requests,
                             size_t max_bytes = PublishHandler::kMaxGroupCommitBytes)
      : max_requests_(max_requests), max_bytes_(max_bytes) {}

  // True once the batch holds max_requests messages or max_bytes bytes.
  bool Full() const { return requests_ >= max_requests_ || bytes_ >= max_bytes_; }
  // Counts one message read from the publish socket.
  void Add(const Frames& message) {
    ++requests_;
    for (const zmq::message_t& frame : message) bytes_ += frame.size();
  }
  size_t bytes() const { return bytes_; }

 private:
  const int max_requests_;
  const size_t max_bytes_;
  int requests_ = 0;
  size_t bytes_ = 0;
};

}  // namespace topicwire::ingest

#endif  // TOPICWIRE_INGEST_PUBLISH_HANDLER_H_
