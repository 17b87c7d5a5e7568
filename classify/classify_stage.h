// The classify worker stage: takes WorkItems from ingest against credit, tags them and PUSHes
// Deliveries to sink (docs/ARCHITECTURE.md, "Delivery protocol").
#ifndef TOPICWIRE_CLASSIFY_CLASSIFY_STAGE_H_
#define TOPICWIRE_CLASSIFY_CLASSIFY_STAGE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "classify/classifier.h"
#include "classify/classify_metrics.h"
#include "prometheus/registry.h"
#include "zmq.hpp"

namespace topicwire::classify {

struct StageOptions {
  // Ingest's work ROUTER, connected with a DEALER.
  std::string work_endpoint = "tcp://127.0.0.1:7403";
  // Sink's input PULL, connected with a PUSH.
  std::string sink_endpoint = "tcp://127.0.0.1:7404";
  // Items the worker holds at most (granted to ingest on connect, one back per finished item).
  int credit = 32;
  // Heartbeat period; ingest silent for `liveness` periods means reconnect.
  absl::Duration heartbeat_interval = absl::Seconds(1);
  int liveness = 3;
  // Upper bound on how long shutdown waits to hand in-hand Deliveries and the goodbye over.
  int linger_ms = 2000;
  // Where the metrics go; null means a private registry.
  std::shared_ptr<prometheus::Registry> registry;
  // Readiness shared with the HTTP endpoint; null means a private one.
  std::shared_ptr<ClassifyHealth> health;
};

// Runs the worker until `shutdown_fd` becomes readable, then sends `goodbye`, hands what it
// holds to sink (bounded by `linger_ms`) and returns OK. The loop is single-threaded: one Tag()
// call at a time (run more workers for more cores). Sink is connected with ZMQ_IMMEDIATE, so
// while sink is unreachable Deliveries wait in the worker and no credit goes back to ingest:
// ingest stops dispatching to it instead of piling work into a dead socket. Returns an error
// only for infrastructure failures (a socket that cannot be created or connected).
absl::Status RunStage(zmq::context_t& context, const StageOptions& options,
                      const Classifier& classifier, int shutdown_fd);

}  // namespace topicwire::classify

#endif  // TOPICWIRE_CLASSIFY_CLASSIFY_STAGE_H_
