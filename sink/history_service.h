// The sink's history endpoint: answers HistoryRequests from the store, so that late joiners and
// subscribers that lost live messages read exactly what was published (sink/README.md,
// "History"). Counts the gaps subscribers report with their requests.
#ifndef TOPICWIRE_SINK_HISTORY_SERVICE_H_
#define TOPICWIRE_SINK_HISTORY_SERVICE_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/history.pb.h"
#include "sink/sink_metrics.h"
#include "sink/store.h"
#include "zmq.hpp"

namespace topicwire::sink {

struct HistoryOptions {
  // Articles per page when the request says 0.
  uint32_t default_limit = 100;
  // The most articles a request may ask for per page.
  uint32_t max_limit = 1000;
  // A page stops growing past this many bytes (at least one article is always sent).
  size_t max_reply_bytes = size_t{16} << 20;
  // Replies queued for one client that does not read, in bytes: the history socket's send
  // high-water mark is send_buffer_bytes / max_reply_bytes replies (at least 1); replies past it
  // are dropped (the client asks again).
  size_t send_buffer_bytes = size_t{64} << 20;
  // The most topics one request may filter by.
  int max_topics = 1024;
};

// The store query `request` asks for under `options`; kInvalidArgument with a reason the client
// can act on when the request cannot be answered (both after_sequence and since_time, an
// invalid time, an empty topic, too many topics).
absl::StatusOr<HistoryQuery> ToHistoryQuery(const v1::HistoryRequest& request,
                                            const HistoryOptions& options);

// The history socket's send high-water mark in replies for `options` (see send_buffer_bytes).
int HistorySendHighWaterMark(const HistoryOptions& options);

// Answers history requests from `store`. Not thread-safe: the stage thread owns it.
class HistoryService {
 public:
  // `store` and `metrics` must outlive the service.
  HistoryService(const HistoryOptions& options, Store& store, SinkMetrics& metrics)
      : options_(options), store_(store), metrics_(metrics) {}

  // The reply to one request frame. A request that cannot be answered (it does not parse, it is
  // not acceptable, the store fails) gets a reply with only `error` set.
  v1::HistoryReply Answer(const zmq::message_t& body);

  // Answers the requests waiting on the ROUTER `socket`, a bounded number per call so that
  // history cannot starve the stage's input; never blocks. Replies go back with the request's
  // envelope (DEALER [id], REQ [id][empty]). Errors only when the socket fails.
  absl::Status ServeWaiting(zmq::socket_t& socket);

 private:
  // Counts a gap a subscriber reports, capped at what the store holds.
  void CountReportedGap(const v1::GapReport& gap);

  const HistoryOptions options_;
  Store& store_;
  SinkMetrics& metrics_;
};

}  // namespace topicwire::sink

#endif  // TOPICWIRE_SINK_HISTORY_SERVICE_H_
