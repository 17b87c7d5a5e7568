// The classify worker's Prometheus metrics.
#ifndef TOPICWIRE_CLASSIFY_CLASSIFY_METRICS_H_
#define TOPICWIRE_CLASSIFY_CLASSIFY_METRICS_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "common/metrics.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace topicwire::classify {

// Every classify metric, registered once on a registry that must outlive it. Updated by the
// stage thread only; prometheus-cpp makes the values safe to read from the HTTP threads.
class ClassifyMetrics : private MetricsRegistrar {
 public:
  // Registers the metrics; topicwire_classify_taxonomy_info{version=`taxonomy_version`} is 1.
  ClassifyMetrics(prometheus::Registry& registry, const std::string& taxonomy_version);

  // topicwire_classify_tags_total{topic=...}: one per tag given.
  void CountTag(const std::string& topic);
  // After a reload: topicwire_classify_taxonomy_info{version=`version`} becomes the only series.
  void SetTaxonomyVersion(const std::string& version);

  prometheus::Counter& articles;           // topicwire_classify_articles_total
  prometheus::Counter& untagged;           // topicwire_classify_untagged_total
  prometheus::Counter& failed;             // topicwire_classify_failed_total: items reported failed
  prometheus::Counter& malformed;          // topicwire_classify_malformed_frames_total
  prometheus::Counter& reconnects;         // topicwire_classify_reconnects_total (ingest silent)
  prometheus::Histogram& latency_seconds;  // receipt of an item -> Delivery queued for sink
  prometheus::Gauge& in_hand;              // items received and not yet handed to sink
  prometheus::Gauge& ingest_connected;     // 1 while ingest's heartbeats arrive
  prometheus::Gauge& sink_connected;       // 1 while the PUSH to sink has a connection
  // topicwire_classify_taxonomy_reloads_total{result="ok"|"refused"}
  prometheus::Counter& reloads_ok;
  prometheus::Counter& reloads_refused;

 private:
  prometheus::Family<prometheus::Counter>& tags_family_;
  prometheus::Family<prometheus::Gauge>& taxonomy_info_family_;
  prometheus::Gauge* taxonomy_info_ = nullptr;
  absl::flat_hash_map<std::string, prometheus::Counter*> tags_by_topic_;
};

}  // namespace topicwire::classify

#endif  // TOPICWIRE_CLASSIFY_CLASSIFY_METRICS_H_
