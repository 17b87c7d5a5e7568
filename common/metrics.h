// Registering Prometheus metrics in one line each, the way every stage's *_metrics.cc does: a
// family by name and help, and (for the Add* helpers) one series of it.
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

// One series (`labels`, none by default) of the family `name`.
prometheus::Counter& AddCounter(prometheus::Registry& registry, const std::string& name,
                                const std::string& help, const prometheus::Labels& labels = {});
prometheus::Gauge& AddGauge(prometheus::Registry& registry, const std::string& name,
                            const std::string& help, const prometheus::Labels& labels = {});
prometheus::Histogram& AddHistogram(prometheus::Registry& registry, const std::string& name,
                                    const std::string& help,
                                    const prometheus::Histogram::BucketBoundaries& buckets);

}  // namespace topicwire

#endif  // TOPICWIRE_COMMON_METRICS_H_
