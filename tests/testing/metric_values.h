// Reading metrics back from an in-process Prometheus registry, as the stage tests check them.
#ifndef TOPICWIRE_TESTS_TESTING_METRIC_VALUES_H_
#define TOPICWIRE_TESTS_TESTING_METRIC_VALUES_H_

#include <string>

#include "prometheus/labels.h"
#include "prometheus/registry.h"

namespace topicwire::testing {

// Sum over the series of the family `name` in `registry` that carry every label of `labels`:
// counter and gauge values, a histogram's number of observations. 0 when no series matches.
double MetricValue(prometheus::Registry& registry, const std::string& name,
                   const prometheus::Labels& labels = {});

}  // namespace topicwire::testing

#endif  // TOPICWIRE_TESTS_TESTING_METRIC_VALUES_H_
