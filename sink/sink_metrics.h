// The sink's Prometheus metrics.
#ifndef TOPICWIRE_SINK_SINK_METRICS_H_
#define TOPICWIRE_SINK_SINK_METRICS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "common/metrics.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace topicwire::sink {

// Every sink metric, registered once on a registry that must outlive it. Updated by the stage
// thread only; prometheus-cpp makes the values safe to read from the HTTP threads.
class SinkMetrics : private MetricsRegistrar {
 public:
  explicit SinkMetrics(prometheus::Registry& registry);

  // Streams get their own label up to this many (far above a taxonomy's topics); later ones
  // are counted as "other", so deliveries cannot grow the label set without bound.
  static constexpr size_t kMaxStreamLabels = 256;

  // topicwire_sink_messages_published_total{stream=...}: one per copy sent on the PUB socket.
  void CountPublished(const std::string& stream);

  // topicwire_sink_subscriber_gaps_total{stream=...} and
  // topicwire_sink_subscriber_missed_messages_total{stream=...}: a hole a subscriber reported
  // (HistoryRequest.gap). Streams this process has not published are counted as "other", so a
  // client cannot grow the label set.
  void CountSubscriberGap(const std::string& stream, uint64_t missed);

  prometheus::Counter& articles_stored;         // newly stored articles
  prometheus::Counter& articles_duplicate;      // deliveries of articles already stored
  prometheus::Counter& deliveries_malformed;    // frames that were not a usable Delivery
  prometheus::Counter& acks_dropped;            // CommitAcks not queued (ingest unreachable)
  prometheus::Counter& history_requests;        // history requests answered (errors included)
  prometheus::Counter& history_errors;          // history requests refused
  prometheus::Counter& stream_subscriptions;    // subscribe messages seen on the stream socket
  prometheus::Counter& stream_clients_cut_off;  // addresses cut at the subscription limit
  prometheus::Histogram& store_commit_seconds;  // one observation per batch transaction
  prometheus::Histogram& end_to_end_seconds;    // stored_at - accepted_at per stored article
  prometheus::Gauge& store_bytes;               // page_count * page_size of the store
  prometheus::Gauge& last_sequence;             // newest store sequence
  prometheus::Gauge& store_full;                // 1 while the store refuses writes (disk full)
  prometheus::Counter& store_full_batches;      // batches the store refused for want of space

 private:
  struct GapCounters {
    prometheus::Counter* gaps = nullptr;
    prometheus::Counter* missed = nullptr;
  };

  prometheus::Family<prometheus::Counter>& published_family_;
  prometheus::Family<prometheus::Counter>& gaps_family_;
  prometheus::Family<prometheus::Counter>& missed_family_;
  absl::flat_hash_map<std::string, prometheus::Counter*> published_by_stream_;
  absl::flat_hash_map<std::string, GapCounters> gaps_by_stream_;
};

}  // namespace topicwire::sink

#endif  // TOPICWIRE_SINK_SINK_METRICS_H_
