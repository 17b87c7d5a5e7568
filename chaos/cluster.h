// The real stage binaries (ingest, N classify workers, sink) as child processes on loopback,
// with ports and command lines from common/topology.h and processes run by common/supervisor.h,
// so they can be killed with SIGKILL and restarted on the same ports and data.
#ifndef TOPICWIRE_CHAOS_CLUSTER_H_
#define TOPICWIRE_CHAOS_CLUSTER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/supervisor.h"
#include "common/topology.h"

namespace topicwire::chaos {

struct ClusterOptions {
  // Directory holding the ingest, classify and sink binaries.
  std::string bin_dir;
  // Journal, store and logs go below this directory (ingest/, sink/, logs/<stage>.log).
  std::string data_dir;
  // First of the topology::PortPlan::PortCount(workers) consecutive loopback ports the stages
  // use.
  int base_port = 7400;
  // Number of classify workers ("classify-0", "classify-1", ...).
  int workers = 2;
  // Passed to ingest as --redelivery_timeout.
  absl::Duration redelivery_timeout = absl::Seconds(2);
  // Passed to every stage as --log_level.
  std::string log_level = "info";
};

// Not thread-safe: one thread at a time starts, kills and polls the stages.
class Cluster {
 public:
  explicit Cluster(ClusterOptions options);
  // SIGKILLs whatever is still running.
  ~Cluster();

  // "ingest", "sink", "classify-0", ...
  std::vector<std::string> StageNames() const;
  // "ingest", "sink" or "classify" for a stage name.
  static std::string KindOf(const std::string& stage);

  // Starts `stage`. REQUIRES: it is not running.
  absl::Status Start(const std::string& stage);
  absl::Status StartAll();
  // SIGKILLs `stage` and reaps it.
  absl::Status Kill(const std::string& stage);
  bool Running(const std::string& stage);
  // Restarts every stage that exited although nobody killed it; returns "<stage>: <how it
  // exited>" for each.
  std::vector<std::string> RestartExited();
  // SIGTERMs every stage (workers first, then ingest, then sink) and waits up to `timeout` for
  // each; returns "<stage>: <how it exited>" for each that did not exit 0.
  std::vector<std::string> StopAll(absl::Duration timeout);

  std::string publish_endpoint() const { return Connect(topology::Endpoint::kPublish); }
  std::string stream_endpoint() const { return Connect(topology::Endpoint::kStream); }
  std::string history_endpoint() const { return Connect(topology::Endpoint::kHistory); }
  int ingest_http_port() const { return ports_.Port(topology::Endpoint::kIngestHttp); }
  int sink_http_port() const { return ports_.Port(topology::Endpoint::kSinkHttp); }
  std::string store_path() const { return topology::StorePath(options_.data_dir); }
  std::string LogPath(const std::string& stage) const { return supervisor_.LogPath(stage); }

 private:
  std::string Connect(topology::Endpoint endpoint) const;
  topology::LaunchOptions Launch() const;

  ClusterOptions options_;
  topology::PortPlan ports_;
  Supervisor supervisor_;
};

// `count` consecutive TCP ports on 127.0.0.1 that nothing listens on now; returns the first.
absl::StatusOr<int> FindFreePortRange(int count);

}  // namespace topicwire::chaos

#endif  // TOPICWIRE_CHAOS_CLUSTER_H_
