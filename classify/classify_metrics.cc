#include "classify/classify_metrics.h"

namespace topicwire::classify {
namespace {

// One family, two series: ok and refused.
constexpr char kReloadsName[] = "topicwire_classify_taxonomy_reloads_total";
constexpr char kReloadsHelp[] =
    "Taxonomy reloads (SIGHUP or file change), by result: ok or refused (old one kept)";

}  // namespace

ClassifyMetrics::ClassifyMetrics(prometheus::Registry& registry,
                                 const std::string& taxonomy_version)
    : MetricsRegistrar(registry),
      articles(
          AddCounter("topicwire_classify_articles_total", "Articles tagged and handed to sink")),
      untagged(AddCounter("topicwire_classify_untagged_total",
                          "Articles that reached no topic's threshold")),
      failed(
          AddCounter("topicwire_classify_failed_total", "Work items reported to ingest as failed")),
      malformed(AddCounter("topicwire_classify_malformed_frames_total",
                           "Frames from ingest that were not a Dispatch")),
      reconnects(AddCounter("topicwire_classify_reconnects_total",
                            "Reconnections to ingest after it was silent")),
      latency_seconds(AddHistogram("topicwire_classify_latency_seconds",
                                   "From receiving a work item to handing its Delivery to sink",
                                   {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                    0.05, 0.1, 0.25, 0.5, 1, 2.5})),
      in_hand(AddGauge("topicwire_classify_in_hand_articles",
                       "Items received and not yet handed to sink")),
      ingest_connected(
          AddGauge("topicwire_classify_ingest_connected", "1 while ingest's heartbeats arrive")),
      sink_connected(AddGauge("topicwire_classify_sink_connected",
                              "1 while the PUSH to sink has a connection")),
      reloads_ok(AddCounter(kReloadsName, kReloadsHelp, {{"result", "ok"}})),
      reloads_refused(AddCounter(kReloadsName, kReloadsHelp, {{"result", "refused"}})),
      tags_family_(CounterFamily("topicwire_classify_tags_total", "Tags given, by topic")),
      taxonomy_info_family_(GaugeFamily("topicwire_classify_taxonomy_info",
                                        "The taxonomy in use (its version label); always 1")) {
  SetTaxonomyVersion(taxonomy_version);
}

void ClassifyMetrics::SetTaxonomyVersion(const std::string& version) {
  if (taxonomy_info_ != nullptr) taxonomy_info_family_.Remove(taxonomy_info_);
  taxonomy_info_ = &taxonomy_info_family_.Add({{"version", version}});
  taxonomy_info_->Set(1);
}

void ClassifyMetrics::CountTag(const std::string& topic) {
  auto [it, inserted] = tags_by_topic_.try_emplace(topic, nullptr);
  if (inserted) it->second = &tags_family_.Add({{"topic", topic}});
  it->second->Increment();
}

}  // namespace topicwire::classify
