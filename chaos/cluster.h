// The real stage binaries (ingest, N classify workers, sink) as child processes on loopback,
// with ports laid out as in docs/ARCHITECTURE.md from one base port, so they can be killed with
// SIGKILL and restarted on the same ports and data.
#ifndef TOPICWIRE_CHAOS_CLUSTER_H_
#define TOPICWIRE_CHAOS_CLUSTER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/subprocess.h"

namespace topicwire::chaos {

struct ClusterOptions {
  // Directory holding the ingest, classify and sink binaries.
  std::string bin_dir;
  // Journal, store and logs go below this directory (ingest/, sink/, logs/<stage>.log).
  std::string data_dir;
  // First of the 8 + workers consecutive loopback ports the stages use.
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

  std::string publish_endpoint() const { return Endpoint(0); }
  std::string stream_endpoint() const { return Endpoint(1); }
  std::string history_endpoint() const { return Endpoint(2); }
  int ingest_http_port() const { return options_.base_port + 6; }
  int sink_http_port() const { return options_.base_port + 7; }
  std::string store_path() const { return options_.data_dir + "/sink/store.db"; }
  std::string LogPath(const std::string& stage) const;

 private:
  std::string Endpoint(int offset) const;
  std::vector<std::string> Argv(const std::string& stage) const;

  ClusterOptions options_;
  std::map<std::string, Subprocess> processes_;
};

// `count` consecutive TCP ports on 127.0.0.1 that nothing listens on now; returns the first.
absl::StatusOr<int> FindFreePortRange(int count);

}  // namespace topicwire::chaos

#endif  // TOPICWIRE_CHAOS_CLUSTER_H_
