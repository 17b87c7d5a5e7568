// Registering Prometheus metrics: each stage's metrics class derives from MetricsRegistrar, so
// that every member is initialized by one call that names the metric and its help text.
#ifndef TOPICWIRE_COMMON_METRICS_H_
#define TOPICWIRE_COMMON_METRICS_H_

#include <string>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/labels.h"
#include "prometheus/registry.h"

namespace topicwire {

// The family `name` in `registry`, registered on first use. Registering a name again with the
// same help and type returns the same family; anything else is a programming error that
// prometheus-cpp reports by throwing.
prometheus::Family<prometheus::Counter>& CounterFamily(prometheus::Registry& registry,
                                                       const std::string& name,
                                                       const std::string& help);
prometheus::Family<prometheus::Gauge>& GaugeFamily(prometheus::Registry& registry,
                                                   const std::string& name,
                                                   const std::string& help);

// The base of a stage's metrics class: registers on the registry given at construction, which
// must outlive the metrics.
class MetricsRegistrar {
 protected:
  explicit MetricsRegistrar(prometheus::Registry& registry) : registry_(registry) {}

  // The family `name`, as the free functions above.
  prometheus::Family<prometheus::Counter>& CounterFamily(const std::string& name,
                                                         const std::string& help);
  prometheus::Family<prometheus::Gauge>& GaugeFamily(const std::string& name,
                                                     const std::string& help);

  // One series (`labels`, none by default) of the family `name`.
  prometheus::Counter& AddCounter(const std::string& name, const std::string& help,
                                  const prometheus::Labels& labels = {});
  prometheus::Gauge& AddGauge(const std::string& name, const std::string& help,
                              const prometheus::Labels& labels = {});
  prometheus::Histogram& AddHistogram(const std::string& name, const std::string& help,
                                      const prometheus::Histogram::BucketBoundaries& buckets);

 private:
  prometheus::Registry& registry_;
};

}  // namespace topicwire

#endif  // TOPICWIRE_COMMON_METRICS_H_
