// HttpEndpoint: the small HTTP server every stage runs for orchestrators and Prometheus.
//   GET /healthz  200 "ok" while the process is alive.
//   GET /readyz   200 "ready" when the stage's Readiness is OK, else 503 with the reason; then
//                 the Readiness's detail line, if any.
//   GET /metrics  the registry in Prometheus text exposition format.
// Slow clients cannot starve the probes: every connection is served by one of kThreads threads
// and closed once it has held that thread for kRequestTimeoutMs without completing its request,
// and after one answer; so connections that send nothing or trickle a request delay a probe by
// at most kRequestTimeoutMs per kThreads of them queued ahead of it.
#ifndef TOPICWIRE_COMMON_HTTP_ENDPOINT_H_
#define TOPICWIRE_COMMON_HTTP_ENDPOINT_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/readiness.h"
#include "prometheus/registry.h"

namespace topicwire {

class HttpEndpoint {
 public:
  // Connections served at the same time; each holds a thread from accept to close.
  static constexpr int kThreads = 16;
  // How long one connection may take to send its whole request; then it is closed. Far above
  // what a probe or Prometheus needs on a cluster network, far below a probe's timeout (1 s by
  // default in Kubernetes) times its failure threshold.
  static constexpr int kRequestTimeoutMs = 1000;

  // Serves on `listen` ("0.0.0.0:7406", "127.0.0.1:0" for any free port); /readyz reads
  // `readiness` from the server's threads (null: always ready).
  static absl::StatusOr<std::unique_ptr<HttpEndpoint>> Start(
      const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
      std::shared_ptr<const Readiness> readiness);
  virtual ~HttpEndpoint() = default;
  // The port actually bound (useful with port 0).
  virtual int port() const = 0;
};

}  // namespace topicwire

#endif  // TOPICWIRE_COMMON_HTTP_ENDPOINT_H_
