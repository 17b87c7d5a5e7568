// The chaos run: publishes a stream of articles through the real stages while SIGKILLing random
// stages and restarting them, then checks that sink's store holds every accepted article exactly
// once and that its streams published each once (issue 4's guarantee).
#ifndef TOPICWIRE_CHAOS_CHAOS_H_
#define TOPICWIRE_CHAOS_CHAOS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "chaos/chaos_report.pb.h"
#include "zmq.hpp"

namespace topicwire::chaos {

struct Options {
  // Articles to publish.
  uint64_t articles = 100'000;
  // Classify worker processes.
  int workers = 2;
  // Mean time between kills (exponentially distributed); zero disables killing.
  absl::Duration kill_interval = absl::Milliseconds(1500);
  // How long a killed stage stays down at most (uniform from 0).
  absl::Duration max_downtime = absl::Seconds(1);
  // Seeds the choice of victims, the timing and the article texts; 0 picks a random seed.
  uint64_t seed = 0;
  // Where journal, store and logs go; empty: a fresh temporary directory.
  std::string data_dir;
  // Keep data_dir after a passing run (a failing run always keeps it).
  bool keep_data = false;
  // First of 8 + workers consecutive loopback ports; 0: free ports.
  int base_port = 0;
  // Directory with the ingest, classify and sink binaries.
  std::string bin_dir;
  // Approximate body size of each article.
  uint64_t article_bytes = 600;
  // Passed to ingest.
  absl::Duration redelivery_timeout = absl::Seconds(2);
  // Publisher: articles per request, articles in flight, resend after no answer for this long.
  int batch = 20;
  int window = 400;
  // Most fresh articles per second; 0: as fast as ingest answers. Spreads a small run over
  // enough time for many kills.
  double rate = 0;
  absl::Duration resend_after = absl::Seconds(3);
  // The whole run, including the wait for the store and the final stop.
  absl::Duration timeout = absl::Minutes(30);
  // --log_level for the stages.
  std::string stage_log_level = "info";
};

// Runs the chaos scenario. Returns the report (report.passed says whether nothing was lost or
// duplicated); fails only when the run could not be carried out (binaries missing, no ports).
// `shutdown_fd` readable stops the run early (the report then says so).
absl::StatusOr<ChaosReport> Run(zmq::context_t& context, const Options& options, int shutdown_fd);

// Sets report.failures and report.passed from the figures: a run passes when nothing accepted
// was lost, nothing was duplicated, the streams are consistent, every article was answered and
// none was rejected or answered DUPLICATE on first send.
void Judge(ChaosReport& report);

// The report as the human-readable table `topicwire-chaos` prints.
std::string FormatReport(const ChaosReport& report);

}  // namespace topicwire::chaos

#endif  // TOPICWIRE_CHAOS_CHAOS_H_
