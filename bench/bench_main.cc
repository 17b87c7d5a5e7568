// topicwire-bench: what `topicwire bench` runs. A binary of its own so that the load generator,
// the passthrough topology and their threads stay out of every other CLI invocation; the
// arguments are parsed with the same spec as the CLI's (bench/bench_spec.h).
#include <iostream>
#include <string>
#include <vector>

#include "bench/bench_spec.h"
#include "bench/pipeline_bench.h"
#include "cli/command_line.h"

int main(int argc, char** argv) {
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
