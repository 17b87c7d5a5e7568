// topicwire-bench: what `topicwire bench` runs. A binary of its own so that the load generator,
// the passthrough topology and their threads stay out of every other CLI invocation; the
// arguments are parsed with the same spec as the CLI's (bench/bench_spec.h).
#include <iostream>
#include <string>
#include <vector>

#include "bench/bench_spec.h"
#include "bench/pipeline_bench.h"
#include "cli/command_line.h"
#include "common/logging.h"

int main(int argc, char** argv) {
  // Standard output carries only the report (--json is parsed by scripts); the supervisor's
  // warnings (a stage that died) go to standard error, its routine lines are not wanted.
  (void)topicwire::InitLogging("bench", "warn");
  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<topicwire::cli::ParsedArgs> parsed =
      topicwire::cli::ParseArgs(topicwire::bench::BenchSpec(), args);
  if (!parsed.ok()) {
    std::cerr << parsed.status().message() << "\n";
    return 2;
  }
  if (parsed->help()) {
    std::cout << topicwire::cli::Usage(topicwire::bench::BenchSpec());
    return 0;
  }
  return topicwire::bench::RunBenchCommand(*parsed, std::cout, std::cerr);
}
