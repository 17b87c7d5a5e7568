// `topicwire bench`: the CLI's entry for the benchmark, which lives in bench/ and runs as the
// topicwire-bench binary beside `topicwire`.
#ifndef TOPICWIRE_CLI_BENCH_H_
#define TOPICWIRE_CLI_BENCH_H_

#include "cli/command.h"

namespace topicwire::cli {

// `topicwire bench`: bench's flags and help (bench/bench_spec.h); running it hands the same
// arguments to topicwire-bench.
const Command& BenchCommand();

}  // namespace topicwire::cli

#endif  // TOPICWIRE_CLI_BENCH_H_
