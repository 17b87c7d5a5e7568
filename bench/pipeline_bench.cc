#include "bench/pipeline_bench.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/load.h"
#include "bench/passthrough.h"
#include "common/status_macros.h"
#include "common/subprocess.h"
#include "common/supervisor.h"
#include "common/topology.h"
#include "google/protobuf/util/json_util.h"

namespace topicwire::bench {
namespace {

// The CLI's exit codes (cli/command.h).
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// CPU seconds (user + system) of a live process, from /proc/PID/stat.
double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(in, line);
  // The command name (field 2) may hold spaces; fields after its closing ')' are plain.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields = absl::StrSplit(line.substr(close + 2), ' ');
  // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the ')'.
  double utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtod(fields[11], &utime) ||
      !absl::SimpleAtod(fields[12], &stime)) {
    return 0;
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Peak resident set (VmHWM) of a live process in MiB, from /proc/PID/status.
double PeakRssMb(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) != 0) continue;
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
    double kb = 0;
    if (parts.size() >= 2 && absl::SimpleAtod(parts[1], &kb)) return kb / 1024.0;
  }
  return 0;
}

v1::LatencyRun ToLatencyRun(const LoadResult& result, double rate) {
  v1::LatencyRun run;
  run.set_rate_per_s(rate);
  run.set_p50_ms(result.LatencyPercentileMs(50));
  run.set_p90_ms(result.LatencyPercentileMs(90));
  run.set_p99_ms(result.LatencyPercentileMs(99));
  run.set_p999_ms(result.LatencyPercentileMs(99.9));
  run.set_articles(result.received);
  return run;
}

absl::Status CheckComplete(const LoadResult& result, const std::string& what) {
  if (result.received < result.accepted) {
    return absl::DataLossError(absl::StrCat(what, ": ", result.accepted, " accepted but only ",
                                            result.received,
                                            " reached the subscriber before it went idle"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::BenchReport> RunBench(const BenchOptions& options, std::ostream& log) {
  if (options.count < 100 || options.article_bytes < 100 || options.rate <= 0 ||
      options.workers < 1) {
    return absl::InvalidArgumentError(
        "--count and --size must be at least 100, --rate and --workers positive");
  }
  v1::BenchReport report;
  report.set_articles(options.count);
  report.set_article_bytes(options.article_bytes);
  report.set_mix(ArticleMixName(options.mix));
  report.set_workers(options.workers);
  report.set_fsync(options.fsync);

  // Start the real stages unless the caller points us at a running pipeline.
  std::optional<Supervisor> supervisor;
  std::vector<std::string> stages;  // in start order
  std::string publish = options.publish_endpoint;
  std::string stream = options.stream_endpoint;
  std::string data_dir = options.data_dir;
  bool remove_data_dir = false;
  if (publish.empty()) {
    if (data_dir.empty()) {
      std::string pattern = (std::filesystem::temp_directory_path() / "topicwire-bench-XXXXXX");
      if (mkdtemp(pattern.data()) == nullptr) {
        return absl::InternalError("cannot create a temporary data directory");
      }
      data_dir = pattern;
      remove_data_dir = true;
    }
    ASSIGN_OR_RETURN(const topology::PortPlan ports,
                     topology::PortPlan::Create(options.base_port, options.workers));
    topology::LaunchOptions launch{.ports = ports,
                                   .bin_dir = options.bin_dir,
                                   .data_dir = data_dir,
                                   .http = false,
                                   .log_level = "warn"};
    if (launch.bin_dir.empty()) {
      ASSIGN_OR_RETURN(launch.bin_dir, ExecutableDir());
    }
    if (!options.fsync) {
      launch.ingest_flags.push_back("--fsync=false");
      launch.sink_flags.push_back("--fsync=false");
    }
    supervisor.emplace(
        SupervisorOptions{.log_dir = (std::filesystem::path(data_dir) / "logs").string()});
    for (const topology::StageCommand& stage : topology::PipelineCommands(launch)) {
      RETURN_IF_ERROR(supervisor->Start(stage.name, stage.argv));
      stages.push_back(stage.name);
    }
    publish = topology::ConnectAddress(ports, topology::Endpoint::kPublish, launch.bind_host);
    stream = topology::ConnectAddress(ports, topology::Endpoint::kStream, launch.bind_host);
    log << "started ingest, sink and " << options.workers << " classify workers on ports "
        << options.base_port << "..; data in " << data_dir << "\n";
  }
  absl::Cleanup stop_stages = [&] {
    if (supervisor.has_value()) (void)supervisor->StopInOrder({stages}, absl::Seconds(10));
    supervisor.reset();
    if (remove_data_dir) {
      std::error_code ignored;
      std::filesystem::remove_all(data_dir, ignored);
    }
  };

  zmq::context_t context(1);
  LoadOptions load;
  load.publish_endpoint = publish;
  load.stream_endpoint = stream;
  load.count = options.count;
  load.article_bytes = static_cast<size_t>(options.article_bytes);
  load.mix = options.mix;
  const std::string run = absl::StrCat("bench-", getpid(), "-", absl::ToUnixSeconds(absl::Now()));

  log << "throughput: " << options.count << " " << ArticleMixName(options.mix) << " articles of ~"
      << options.article_bytes << " bytes, as fast as they are accepted\n";
  load.run_id = run + "-max";
  absl::StatusOr<LoadResult> first_run = RunLoad(context, load);
  if (!first_run.ok()) {
    // The usual cause is a stage that could not start: say which, and where its log is.
    if (supervisor.has_value()) {
      for (const ChildExit& exit : supervisor->Poll()) {
        return absl::FailedPreconditionError(
            absl::StrCat(exit.name, " ", DescribeWaitStatus(exit.wait_status), "; see ",
                         supervisor->LogPath(exit.name), " (and --data-dir to keep it)"));
      }
    }
    return first_run.status();
  }
  LoadResult max = *std::move(first_run);
  RETURN_IF_ERROR(CheckComplete(max, "throughput run"));
  report.set_articles_per_s(max.ArticlesPerSecond());
  report.set_mb_per_s(max.MegabytesPerSecond());
  report.set_accepted(max.accepted);
  report.set_received(max.received);
  report.set_tags_per_article(max.TagsPerArticle());
  report.set_copies_per_article(max.CopiesPerArticle());
  report.set_bytes_per_copy(max.BytesPerCopy());

  for (double rate : {options.rate, max.ArticlesPerSecond() / 2}) {
    log << absl::StrFormat("latency: %d articles at %.0f/s\n", options.count, rate);
    load.rate = rate;
    load.run_id = absl::StrCat(run, "-rate", static_cast<int64_t>(rate));
    ASSIGN_OR_RETURN(LoadResult fixed, RunLoad(context, load));
    RETURN_IF_ERROR(CheckComplete(fixed, "latency run"));
    *report.add_latency() = ToLatencyRun(fixed, rate);
  }
  const v1::LatencyRun& first = report.latency(0);
  report.set_p50_ms(first.p50_ms());
  report.set_p90_ms(first.p90_ms());
  report.set_p99_ms(first.p99_ms());
  report.set_p999_ms(first.p999_ms());

  for (const std::string& stage : stages) {
    v1::StageUsage* usage = report.add_stages();
    usage->set_name(stage);
    const pid_t pid = supervisor->process(stage)->pid();
    usage->set_cpu_s(CpuSeconds(pid));
    usage->set_peak_rss_mb(PeakRssMb(pid));
  }
  std::move(stop_stages).Invoke();

  if (options.passthrough) {
    log << "passthrough: the same load through the same hops without journal, tagging or "
           "store\n";
    ASSIGN_OR_RETURN(std::unique_ptr<Passthrough> passthrough, Passthrough::Start(context));
    load.publish_endpoint = passthrough->publish_endpoint();
    load.stream_endpoint = passthrough->stream_endpoint();
    load.rate = 0;
    load.run_id = run + "-passthrough";
    ASSIGN_OR_RETURN(LoadResult limit, RunLoad(context, load));
    RETURN_IF_ERROR(CheckComplete(limit, "passthrough run"));
    report.set_passthrough_articles_per_s(limit.ArticlesPerSecond());
    if (limit.ArticlesPerSecond() > 0) {
      report.set_ratio(report.articles_per_s() / limit.ArticlesPerSecond());
    }
  }
  return report;
}

std::string FormatBenchReport(const v1::BenchReport& report) {
  std::string text = absl::StrFormat(
      "articles        %d x ~%d bytes (%s mix), %d classify workers, fsync %s\n"
      "throughput      %.0f articles/s  (%.1f MB/s), %d accepted, %d received\n"
      "tags            %.2f per article; %.2f copies per article of %.0f bytes each\n",
      report.articles(), report.article_bytes(), report.mix(), report.workers(),
      report.fsync() ? "on" : "off", report.articles_per_s(), report.mb_per_s(), report.accepted(),
      report.received(), report.tags_per_article(), report.copies_per_article(),
      report.bytes_per_copy());
  if (report.passthrough_articles_per_s() > 0) {
    absl::StrAppendFormat(&text, "passthrough     %.0f articles/s  -> ratio %.2f\n",
                          report.passthrough_articles_per_s(), report.ratio());
  }
  for (const v1::LatencyRun& run : report.latency()) {
    absl::StrAppendFormat(
        &text, "latency @%6.0f/s  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  p99.9 %.2f ms\n",
        run.rate_per_s(), run.p50_ms(), run.p90_ms(), run.p99_ms(), run.p999_ms());
  }
  for (const v1::StageUsage& stage : report.stages()) {
    absl::StrAppendFormat(&text, "%-15s cpu %.2f s  peak RSS %.1f MB\n", stage.name(),
                          stage.cpu_s(), stage.peak_rss_mb());
  }
  return text;
}

int RunBenchCommand(const cli::ParsedArgs& args, std::ostream& out, std::ostream& err) {
  const auto fail = [&err](const absl::Status& status, int code = kExitUsage) {
    err << "topicwire bench: " << status.message() << "\n";
    return code;
  };
  BenchOptions options;
  absl::StatusOr<int64_t> count = args.GetInt("count");
  absl::StatusOr<int64_t> size = args.GetInt("size");
  absl::StatusOr<double> rate = args.GetDouble("rate");
  absl::StatusOr<int64_t> workers = args.GetInt("workers");
  absl::StatusOr<int64_t> base_port = args.GetInt("base-port");
  absl::StatusOr<bool> fsync = args.GetBool("fsync");
  absl::StatusOr<bool> passthrough = args.GetBool("passthrough");
  absl::StatusOr<bool> json = args.GetBool("json");
  absl::StatusOr<ArticleMix> mix = ParseArticleMix(args.Get("mix"));
  for (const absl::Status& status :
       {count.status(), size.status(), rate.status(), workers.status(), base_port.status(),
        fsync.status(), passthrough.status(), json.status(), mix.status()}) {
    if (!status.ok()) return fail(status);
  }
  if (*workers < 1 || *workers > 64 || *base_port < 1 ||
      *base_port + topology::PortPlan::PortCount(*workers) > 65535) {
    return fail(
        absl::InvalidArgumentError("--workers must be 1..64 and --base-port leave room "
                                   "for the stages' ports"));
  }
  if (args.Get("to").empty() != args.Get("from").empty()) {
    return fail(absl::InvalidArgumentError("give both --to and --from, or neither"));
  }
  options.count = *count;
  options.article_bytes = *size;
  options.mix = *mix;
  options.rate = *rate;
  options.workers = static_cast<int>(*workers);
  options.base_port = static_cast<int>(*base_port);
  options.data_dir = args.Get("data-dir");
  options.bin_dir = args.Get("bin-dir");
  options.publish_endpoint = args.Get("to");
  options.stream_endpoint = args.Get("from");
  options.fsync = *fsync;
  options.passthrough = *passthrough;
  absl::StatusOr<v1::BenchReport> report = RunBench(options, err);
  if (!report.ok()) return fail(report.status(), kExitFailed);
  if (*json) {
    std::string line;
    google::protobuf::util::JsonPrintOptions print;
    print.preserve_proto_field_names = true;
    print.always_print_primitive_fields = true;
    if (!google::protobuf::util::MessageToJsonString(*report, &line, print).ok()) {
      return fail(absl::InternalError("cannot print the report as JSON"), kExitFailed);
    }
    out << line << "\n";
  } else {
    out << FormatBenchReport(*report);
  }
  return kExitOk;
}

}  // namespace topicwire::bench
