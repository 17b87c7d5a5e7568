// `topicwire up`: runs a whole pipeline on one machine (ingest, N classify workers, sink) as
// direct child processes, restarts a stage that dies, and stops them in order on SIGINT/SIGTERM.
#ifndef TOPICWIRE_CLI_UP_H_
#define TOPICWIRE_CLI_UP_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "cli/command.h"
#include "common/topology.h"

namespace topicwire::cli {

struct UpOptions {
  // Holds ingest/journal.db, sink/store.db and logs/<stage>.log; created when missing.
  std::string data_dir = "topicwire-data";
  // Number of classify workers.
  int workers = 2;
  // Ports follow common/topology.h (docs/ARCHITECTURE.md): publish P, stream P+1, history P+2,
  // work P+3, sink input P+4, commit P+5, HTTP P+6 (ingest), P+7 (sink), P+10+i (worker i),
  // admin P+9.
  int base_port = 7400;
  // Address the stages bind ("127.0.0.1", or "0.0.0.0" for every interface).
  std::string bind_host = "127.0.0.1";
  // Directory holding the ingest, classify and sink binaries; empty means beside this
  // executable.
  std::string bin_dir{};
  // Taxonomy file for the workers; empty means classify's bundled default.
  std::string taxonomy{};
  // --log_level passed to every stage.
  std::string log_level = "info";
  // Serve /healthz /readyz /metrics on the HTTP ports.
  bool http = true;
  // CurveZMQ on every hop: the stages' and a client's keys and the allow-lists live here
  // (PrepareCurveDir); empty: everything plaintext.
  std::string curve_dir{};
  // How long a stage may take to exit after SIGTERM before it gets SIGKILL.
  absl::Duration stop_timeout = absl::Seconds(10);
  // Restart backoff after a stage dies: starts here, doubles up to max_restart_backoff, and
  // starts over once the stage has run for a minute.
  absl::Duration restart_backoff = absl::Milliseconds(200);
  absl::Duration max_restart_backoff = absl::Seconds(5);
};

// Creates `dir` (mode 0700) with whatever of these is missing, and keeps what exists: the key
// pairs ingest, sink, classify and client (NAME.key, NAME.pub), and the allow-lists
// clients.allow and admins.allow (client.pub), ingest-stages.allow (classify.pub, sink.pub) and
// sink-stages.allow (classify.pub). Add a client's .pub line to clients.allow to admit it; the
// stages reload the allow-lists when they change.
absl::Status PrepareCurveDir(const std::string& dir);

// The stages in start order (ingest, sink, then the workers) with their full command lines.
std::vector<topology::StageCommand> PlanStages(const UpOptions& options,
                                               const std::string& bin_dir);

// The endpoints `up` prints: one line per endpoint, beginning with its role.
std::string DescribeEndpoints(const UpOptions& options);

// Runs the pipeline until `shutdown_fd` becomes readable, then stops ingest, the workers and
// sink in that order and returns OK. Fails only when the data directory cannot be created or a
// binary is missing.
absl::Status RunUp(const UpOptions& options, int shutdown_fd, std::ostream& out);

// `topicwire up`: its flags and help, and RunUp() behind them.
const Command& UpCommand();

}  // namespace topicwire::cli

#endif  // TOPICWIRE_CLI_UP_H_
