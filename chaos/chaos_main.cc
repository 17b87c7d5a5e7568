// topicwire-chaos: flags -> chaos::Options, run, print the report. The only file that reads
// flags.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "chaos/chaos.h"
#include "common/env_flags.h"
#include "common/logging.h"
#include "common/shutdown.h"
#include "google/protobuf/util/json_util.h"
#include "spdlog/spdlog.h"
#include "zmq.hpp"

ABSL_FLAG(uint64_t, articles, 100'000, "Articles to publish");
ABSL_FLAG(int, workers, 2, "Classify worker processes");
ABSL_FLAG(absl::Duration, kill_interval, absl::Milliseconds(1500),
          "Mean time between kill -9s (exponentially distributed); 0 disables killing");
ABSL_FLAG(absl::Duration, max_downtime, absl::Seconds(1),
          "A killed stage is restarted after a random delay up to this");
ABSL_FLAG(uint64_t, seed, 0, "Seeds victims, timing and article texts; 0: random (printed)");
ABSL_FLAG(std::string, data_dir, "",
          "Directory for journal, store and logs; empty: a fresh temporary directory");
ABSL_FLAG(bool, keep_data, false, "Keep the data directory after a passing run");
ABSL_FLAG(int, base_port, 0, "First of 10 + workers consecutive loopback ports (layout as in topicwire up); 0: free ports");
ABSL_FLAG(std::string, bin_dir, "",
          "Directory with the ingest, classify and sink binaries; empty: beside this program");
ABSL_FLAG(uint64_t, article_bytes, 600, "Approximate body size of each article");
ABSL_FLAG(absl::Duration, redelivery_timeout, absl::Seconds(2),
          "Passed to ingest as --redelivery_timeout");
ABSL_FLAG(int, batch, 20, "Articles per PublishRequest");
ABSL_FLAG(int, window, 400, "Most articles sent and not yet answered");
ABSL_FLAG(double, rate, 0,
          "Most fresh articles per second; 0: as fast as ingest answers. A small run with a "
          "rate lasts long enough for many kills");
ABSL_FLAG(absl::Duration, resend_after, absl::Seconds(3),
          "Resend an article that has no answer after this long");
ABSL_FLAG(absl::Duration, timeout, absl::Minutes(30),
          "Bound on the whole run: publishing (60%), killing while the store lags (70%), the calm "
          "wait for the store, stopping");
ABSL_FLAG(bool, json, false, "Print the report as JSON instead of a table");
ABSL_FLAG(std::string, report_file, "", "Also write the JSON report to this file");
ABSL_FLAG(std::string, stage_log_level, "info", "--log_level for the stages");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error, critical or off");

namespace {

std::string DirectoryOfThisProgram() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string(".") : self.parent_path().string();
}

}  // namespace

int main(int argc, char** argv) {
  // The program is called topicwire-chaos, so Abseil's default (flags defined in a file named
  // like the program) would make --help list nothing: name this file instead.
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) {
    return absl::EndsWith(path, "chaos_main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "publishes a stream through ingest, classify workers and sink while kill -9'ing random "
      "stages, then checks that every accepted article was stored and published exactly once. "
      "Exit status: 0 passed, 1 something lost or duplicated (see the report), 2 could not run");
  if (absl::Status env = topicwire::ApplyFlagsFromEnvironment(); !env.ok()) {
    fprintf(stderr, "%s\n", env.ToString().c_str());
    return 2;
  }
  absl::ParseCommandLine(argc, argv);
  if (absl::Status logging = topicwire::InitLogging("chaos", absl::GetFlag(FLAGS_log_level));
      !logging.ok()) {
    fprintf(stderr, "%s\n", logging.ToString().c_str());
    return 2;
  }
  // Before the zmq context and the killer thread exist, so that they inherit the blocked
  // signals and SIGINT stops the run through the shutdown fd.
  absl::StatusOr<topicwire::Shutdown> shutdown = topicwire::Shutdown::FromSignals();
  if (!shutdown.ok()) {
    spdlog::critical("{}", shutdown.status().ToString());
    return 2;
  }
  std::string bin_dir = absl::GetFlag(FLAGS_bin_dir);
  if (bin_dir.empty()) bin_dir = DirectoryOfThisProgram();

  const topicwire::chaos::Options options{
      .articles = absl::GetFlag(FLAGS_articles),
      .workers = absl::GetFlag(FLAGS_workers),
      .kill_interval = absl::GetFlag(FLAGS_kill_interval),
      .max_downtime = absl::GetFlag(FLAGS_max_downtime),
      .seed = absl::GetFlag(FLAGS_seed),
      .data_dir = absl::GetFlag(FLAGS_data_dir),
      .keep_data = absl::GetFlag(FLAGS_keep_data),
      .base_port = absl::GetFlag(FLAGS_base_port),
      .bin_dir = bin_dir,
      .article_bytes = absl::GetFlag(FLAGS_article_bytes),
      .redelivery_timeout = absl::GetFlag(FLAGS_redelivery_timeout),
      .batch = absl::GetFlag(FLAGS_batch),
      .window = absl::GetFlag(FLAGS_window),
      .rate = absl::GetFlag(FLAGS_rate),
      .resend_after = absl::GetFlag(FLAGS_resend_after),
      .timeout = absl::GetFlag(FLAGS_timeout),
      .stage_log_level = absl::GetFlag(FLAGS_stage_log_level)};

  zmq::context_t context(1);
  absl::StatusOr<topicwire::chaos::ChaosReport> report =
      topicwire::chaos::Run(context, options, shutdown->fd());
  if (!report.ok()) {
    spdlog::error("cannot run: {}", report.status().ToString());
    return 2;
  }

  google::protobuf::util::JsonPrintOptions json_options;
  json_options.add_whitespace = true;
  json_options.always_print_primitive_fields = true;
  json_options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(*report, &json, json_options).ok()) {
    spdlog::error("cannot format the report as JSON");
    return 2;
  }
  if (const std::string path = absl::GetFlag(FLAGS_report_file); !path.empty()) {
    std::ofstream file(path);
    file << json;
    if (!file.good()) spdlog::error("cannot write the report to {}", path);
  }
  std::cout << (absl::GetFlag(FLAGS_json) ? json : topicwire::chaos::FormatReport(*report))
            << std::flush;
  return report->passed() ? 0 : 1;
}
