// ingest's Prometheus metrics, registered on the registry the HTTP endpoint serves.
#ifndef TOPICWIRE_INGEST_INGEST_METRICS_H_
#define TOPICWIRE_INGEST_INGEST_METRICS_H_

#include <memory>

#include "common/metrics.h"
#include "ingest/validator.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace topicwire::ingest {

// Handles to every ingest metric. Counters and gauges are thread-safe (prometheus-cpp).
class IngestMetrics : private MetricsRegistrar {
 public:
  // Registers the topicwire_ingest_* families on `registry`. REQUIRES: once per registry.
  explicit IngestMetrics(prometheus::Registry& registry);

  prometheus::Counter& Rejected(RejectKind kind) { return *rejected_[static_cast<int>(kind)]; }

  prometheus::Counter& received;
  prometheus::Counter& accepted;
  prometheus::Counter& duplicate;
  prometheus::Counter& busy;
  prometheus::Counter& redeliveries;
  prometheus::Counter& failed_attempts;
  prometheus::Gauge& pending;
  prometheus::Gauge& in_flight;
  prometheus::Gauge& workers;
  prometheus::Gauge& journal_bytes;
  prometheus::Histogram& journal_commit_seconds;
  prometheus::Gauge& dead_letters;
  prometheus::Counter& dead_lettered;
  prometheus::Counter& journal_quarantined_records;
  prometheus::Counter& journal_replaced;
  prometheus::Counter& journal_full;
  prometheus::Counter& replies_undelivered_queue_full;
  prometheus::Counter& replies_undelivered_publisher_gone;
  prometheus::Counter& replies_undelivered_other;

 private:
  prometheus::Counter* rejected_[static_cast<int>(RejectKind::kMalformed) + 1];
};

}  // namespace topicwire::ingest

#endif  // TOPICWIRE_INGEST_INGEST_METRICS_H_
