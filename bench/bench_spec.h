// The flags and help of `topicwire bench`. Header-only on purpose: the CLI lists and parses the
// command with it without linking any bench code, then runs the topicwire-bench binary
// (bench/bench_main.cc), which parses the same words with the same spec.
#ifndef TOPICWIRE_BENCH_BENCH_SPEC_H_
#define TOPICWIRE_BENCH_BENCH_SPEC_H_

#include "cli/command_line.h"

namespace topicwire::bench {

inline const cli::CommandSpec& BenchSpec() {
  static const cli::CommandSpec* const spec = new cli::CommandSpec{
      .name = "bench",
      .arguments = "",
      .brief = "Measure throughput, latency and stage resources against the passthrough limit",
      .summary =
          "Starts the real stages (or uses a running pipeline: --to and --from), publishes\n"
          "synthetic articles as fast as they are accepted, then at --rate and at half the\n"
          "maximum, subscribes at the far end, and reports throughput, latency percentiles,\n"
          "each stage's CPU time and peak memory, and the ratio to the passthrough limit:\n"
          "the same ZeroMQ hops and protobuf encode/decode without journal, tagging or store.",
      .flags = {
          {"count", "N", "20000", "Articles per run"},
          {"size", "BYTES", "3300", "Approximate size of each article"},
          {"mix", "news|dense", "news",
           "Article text: news prose (~0.84 tags each) or dense technology words (~6 tags)"},
          {"rate", "R", "10000", "Articles per second of the first latency run"},
          {"workers", "N", "2", "Classify workers to start"},
          {"base-port", "P", "7450", "Ports for the stages bench starts (layout as in up)"},
          {"data-dir", "DIR", "", "Journal, store and logs (\"\": a temporary directory)"},
          {"bin-dir", "DIR", "", "Where the stage binaries are (\"\": beside topicwire)"},
          {"to", "ENDPOINT", "", "Measure a running pipeline: ingest's publish endpoint"},
          {"from", "ENDPOINT", "", "... and sink's stream endpoint"},
          {"fsync", "", "true", "Durable journal and store (--fsync=false: faster, unsafe)", true},
          {"passthrough", "", "true", "Also measure the passthrough limit", true},
          {"json", "", "false", "Print one JSON object (BenchReport in proto/bench.proto)", true},
      }};
  return *spec;
}

}  // namespace topicwire::bench

#endif  // TOPICWIRE_BENCH_BENCH_SPEC_H_
