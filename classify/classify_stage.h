// The classify worker stage: takes WorkItems from ingest against credit, tags them and PUSHes
// Deliveries to sink (docs/ARCHITECTURE.md, "Delivery protocol").
#ifndef TOPICWIRE_CLASSIFY_CLASSIFY_STAGE_H_
#define TOPICWIRE_CLASSIFY_CLASSIFY_STAGE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "classify/classifier.h"
#include "common/curve_keys.h"
#include "common/readiness.h"
#include "prometheus/registry.h"
#include "zmq.hpp"

namespace topicwire::classify {

// What a worker's readiness waits for: the taxonomy is compiled, ingest's heartbeats arrive (a
// path to work) and the PUSH to sink has a connection (seen through a ZeroMQ socket monitor; an
// inproc:// sink counts as connected once connect() returned, because inproc sockets emit no
// monitor events). Indices into the Readiness that NewClassifyReadiness() returns.
enum ClassifyCondition : size_t { kTaxonomyLoaded, kIngestConnected, kSinkConnected };

// A Readiness with ClassifyCondition's conditions, all unmet; its detail line names the taxonomy
// version in use and the reload counts.
std::shared_ptr<Readiness> NewClassifyReadiness();

struct ClassifyOptions {
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
  // Readiness shared with the HTTP endpoint (from NewClassifyReadiness()); null means a private
  // one.
  std::shared_ptr<Readiness> readiness;
  // CurveZMQ on the DEALER to ingest and the PUSH to sink (this worker's keys and each server's
  // public key); disabled: plaintext.
  curve::ClientOptions ingest_curve{};
  curve::ClientOptions sink_curve{};
  // Hot reload. The taxonomy file to reload from; empty: no reload.
  std::string taxonomy_path;
  // Readable means "reload now" (a SIGHUP signalfd from BlockSighupIntoFd(), or an eventfd in
  // tests); -1: none. What is readable is read and discarded.
  int reload_fd = -1;
  // How often the file's modification time and size are checked; a change means reload. Zero:
  // never (reload on reload_fd only).
  absl::Duration taxonomy_check_interval = absl::Seconds(1);
};

// Blocks SIGHUP in the calling thread (call it before creating the zmq context, so that every
// thread inherits the mask) and returns a non-blocking signalfd that becomes readable on SIGHUP.
absl::StatusOr<int> BlockSighupIntoFd();

// Runs the worker until `shutdown_fd` becomes readable, then sends `goodbye`, hands what it
// holds to sink (bounded by `linger_ms`) and returns OK. The loop is single-threaded: one Tag()
// call at a time (run more workers for more cores). Sink is connected with ZMQ_IMMEDIATE, so
// while sink is unreachable Deliveries wait in the worker and no credit goes back to ingest:
// ingest stops dispatching to it instead of piling work into a dead socket. Returns an error
// only for infrastructure failures (a socket that cannot be created or connected).
//
// Hot reload (options.taxonomy_path set): on reload_fd or a change of the file, the worker
// loads, validates and compiles the new taxonomy between two items and swaps it in; every article
// is tagged wholly by one taxonomy and none is dropped. A file that does not load is refused,
// logged and counted (topicwire_classify_taxonomy_reloads_total{result="refused"}) and the old
// taxonomy keeps serving. The version in use is in every tag, in
// topicwire_classify_taxonomy_info{version=...} and on /readyz (the readiness's detail).
absl::Status RunStage(zmq::context_t& context, const ClassifyOptions& options,
                      std::shared_ptr<const Classifier> classifier, int shutdown_fd);

// The same with a classifier the caller keeps alive for the whole run (a reload, if any,
// replaces it in the worker without freeing it).
absl::Status RunStage(zmq::context_t& context, const ClassifyOptions& options,
                      const Classifier& classifier, int shutdown_fd);

}  // namespace topicwire::classify

#endif  // TOPICWIRE_CLASSIFY_CLASSIFY_STAGE_H_
