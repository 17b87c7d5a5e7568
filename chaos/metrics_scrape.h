// Reads one figure from a stage's Prometheus /metrics page (the stages' --http_listen).
#ifndef TOPICWIRE_CHAOS_METRICS_SCRAPE_H_
#define TOPICWIRE_CHAOS_METRICS_SCRAPE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace topicwire::chaos {

// The value of the unlabelled sample `name` in Prometheus text exposition `text`, if present.
std::optional<double> FindMetric(absl::string_view text, absl::string_view name);

// GETs http://127.0.0.1:<port>/metrics and returns FindMetric of it; kUnavailable when the
// stage does not answer within `timeout`, kNotFound when the page lacks `name`.
absl::StatusOr<double> ScrapeMetric(int port, const std::string& name,
                                    absl::Duration timeout = absl::Seconds(2));

// GETs http://127.0.0.1:<port>/readyz; true on 200.
bool IsReady(int port, absl::Duration timeout = absl::Seconds(1));

}  // namespace topicwire::chaos

#endif  // TOPICWIRE_CHAOS_METRICS_SCRAPE_H_
