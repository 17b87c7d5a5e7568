// HttpEndpoint: the small HTTP server every stage runs for orchestrators and Prometheus.
//   GET /healthz  200 "ok" while the process is alive.
//   GET /readyz   200 "ready" when the stage's readiness check passes, else 503 with the reason.
//   GET /metrics  the registry in Prometheus text exposition format.
#ifndef TOPICWIRE_COMMON_HTTP_ENDPOINT_H_
#define TOPICWIRE_COMMON_HTTP_ENDPOINT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "prometheus/registry.h"

namespace topicwire {

// Returns OK when the stage can do its job, else a status whose message says what is missing
// ("no path to sink", "taxonomy not loaded"). Called from the HTTP server's threads: must be
// thread-safe (read atomics).
using ReadinessCheck = std::function<absl::Status()>;

class HttpEndpoint {
 public:
  // Serves on `listen` ("0.0.0.0:7406", "127.0.0.1:0" for any free port). `registry` must
  // outlive the endpoint.
  static absl::StatusOr<std::unique_ptr<HttpEndpoint>> Start(
      const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
      ReadinessCheck ready);
  // The same; `detail`, when set, adds a line to /readyz's answer (e.g. classify's taxonomy
  // version and reload counts), ready or not. Called from the HTTP server's threads.
  static absl::StatusOr<std::unique_ptr<HttpEndpoint>> Start(
      const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
      ReadinessCheck ready, std::function<std::string()> detail);
  virtual ~HttpEndpoint() = default;
  // The port actually bound (useful with port 0).
  virtual int port() const = 0;
};

}  // namespace topicwire

#endif  // TOPICWIRE_COMMON_HTTP_ENDPOINT_H_
