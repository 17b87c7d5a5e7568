// `topicwire bench` (the topicwire-bench binary): measures the real pipeline against the
// passthrough limit in one run.
#ifndef TOPICWIRE_BENCH_PIPELINE_BENCH_H_
#define TOPICWIRE_BENCH_PIPELINE_BENCH_H_

#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "bench/synthetic.h"
#include "cli/command_line.h"
#include "proto/bench.pb.h"

namespace topicwire::bench {

struct BenchOptions {
  // Articles in the throughput run and in each fixed-rate run.
  int64_t count = 20000;
  // Approximate serialized size of each synthetic article.
  int64_t article_bytes = 3300;
  // What the synthetic articles read like (the pipeline and the passthrough get the same ones).
  ArticleMix mix = ArticleMix::kNews;
  // Rate of the first latency run, articles per second (the second runs at half the maximum).
  double rate = 10000;
  // Classify workers to start.
  int workers = 2;
  // Ports P.. for the stages `bench` starts (same layout as `up`).
  int base_port = 7450;
  // Where the journal, store and logs go; empty: a fresh temporary directory.
  std::string data_dir{};
  // Directory holding the stage binaries; empty: beside this executable.
  std::string bin_dir{};
  // When set, measure an already running pipeline at these endpoints instead of starting one
  // (stage CPU and memory are then not reported).
  std::string publish_endpoint{};
  std::string stream_endpoint{};
  // Passed to ingest and sink: false trades power-loss safety for speed.
  bool fsync = true;
  // Also measure the passthrough topology.
  bool passthrough = true;
};

// Runs the benchmark, writing progress lines to `log`.
absl::StatusOr<v1::BenchReport> RunBench(const BenchOptions& options, std::ostream& log);

// A table for people.
std::string FormatBenchReport(const v1::BenchReport& report);

// Runs `topicwire bench` on arguments parsed with BenchSpec() (bench/bench_spec.h): the report
// on `out` (a table, or JSON with --json), progress and errors on `err`. Returns the exit code:
// 0, 1 when the run failed, 2 on bad arguments.
int RunBenchCommand(const cli::ParsedArgs& args, std::ostream& out, std::ostream& err);

}  // namespace topicwire::bench

#endif  // TOPICWIRE_BENCH_PIPELINE_BENCH_H_
