#include "cli/bench.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/load.h"
#include "bench/passthrough.h"
#include "cli/up.h"
#include "common/status_macros.h"
#include "common/subprocess.h"

namespace topicwire::cli {
namespace {

struct RunningStage {
  std::string name;
  Subprocess process;
};

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

v1::LatencyRun ToLatencyRun(const bench::LoadResult& result, double rate) {
  v1::LatencyRun run;
  run.set_rate_per_s(rate);
  run.set_p50_ms(result.LatencyPercentileMs(50));
  run.set_p90_ms(result.LatencyPercentileMs(90));
  run.set_p99_ms(result.LatencyPercentileMs(99));
  run.set_p999_ms(result.LatencyPercentileMs(99.9));
  run.set_articles(result.received);
  return run;
}

absl::Status CheckComplete(const bench::LoadResult& result, const std::string& what) {
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
  report.set_mix(bench::ArticleMixName(options.mix));
  report.set_workers(options.workers);
  report.set_fsync(options.fsync);

  // Start the real stages unless the caller points us at a running pipeline.
  std::vector<RunningStage> stages;
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
    UpOptions up;
    up.data_dir = data_dir;
    up.workers = options.workers;
    up.base_port = options.base_port;
    up.http = false;
    up.log_level = "warn";
    std::string bin_dir = options.bin_dir;
    if (bin_dir.empty()) {
      ASSIGN_OR_RETURN(bin_dir, ExecutableDir());
    }
    const std::filesystem::path logs = std::filesystem::path(data_dir) / "logs";
    std::error_code ignored;
    std::filesystem::create_directories(logs, ignored);
    for (StagePlan& plan : PlanStages(up, bin_dir)) {
      if (!options.fsync && (plan.name == "ingest" || plan.name == "sink")) {
        plan.argv.push_back("--fsync=false");
      }
      ASSIGN_OR_RETURN(Subprocess process,
                       Subprocess::Start(plan.argv, (logs / (plan.name + ".log")).string()));
      stages.push_back({plan.name, std::move(process)});
    }
    publish = absl::StrCat("tcp://127.0.0.1:", options.base_port);
    stream = absl::StrCat("tcp://127.0.0.1:", options.base_port + 1);
    log << "started ingest, sink and " << options.workers << " classify workers on ports "
        << options.base_port << "..; data in " << data_dir << "\n";
  }
  absl::Cleanup stop_stages = [&] {
    for (RunningStage& stage : stages) stage.process.Signal(SIGTERM);
    for (RunningStage& stage : stages) (void)stage.process.Wait(absl::Seconds(10));
    if (remove_data_dir) {
      std::error_code ignored;
      std::filesystem::remove_all(data_dir, ignored);
    }
  };

  zmq::context_t context(1);
  bench::LoadOptions load;
  load.publish_endpoint = publish;
  load.stream_endpoint = stream;
  load.count = options.count;
  load.article_bytes = static_cast<size_t>(options.article_bytes);
  load.mix = options.mix;
  const std::string run = absl::StrCat("bench-", getpid(), "-", absl::ToUnixSeconds(absl::Now()));

  log << "throughput: " << options.count << " " << bench::ArticleMixName(options.mix)
      << " articles of ~" << options.article_bytes << " bytes, as fast as they are accepted\n";
  load.run_id = run + "-max";
  absl::StatusOr<bench::LoadResult> first_run = bench::RunLoad(context, load);
  if (!first_run.ok()) {
    // The usual cause is a stage that could not start: say which, and where its log is.
    for (RunningStage& stage : stages) {
      if (std::optional<int> status = stage.process.Poll(); status.has_value()) {
        return absl::FailedPreconditionError(
            absl::StrCat(stage.name, " ", DescribeWaitStatus(*status), "; see ", data_dir, "/logs/",
                         stage.name, ".log (and --data-dir to keep it)"));
      }
    }
    return first_run.status();
  }
  bench::LoadResult max = *std::move(first_run);
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
    ASSIGN_OR_RETURN(bench::LoadResult fixed, bench::RunLoad(context, load));
    RETURN_IF_ERROR(CheckComplete(fixed, "latency run"));
    *report.add_latency() = ToLatencyRun(fixed, rate);
  }
  const v1::LatencyRun& first = report.latency(0);
  report.set_p50_ms(first.p50_ms());
  report.set_p90_ms(first.p90_ms());
  report.set_p99_ms(first.p99_ms());
  report.set_p999_ms(first.p999_ms());

  for (RunningStage& stage : stages) {
    v1::StageUsage* usage = report.add_stages();
    usage->set_name(stage.name);
    usage->set_cpu_s(CpuSeconds(stage.process.pid()));
    usage->set_peak_rss_mb(PeakRssMb(stage.process.pid()));
  }
  std::move(stop_stages).Invoke();

  if (options.passthrough) {
    log << "passthrough: the same load through the same hops without journal, tagging or "
           "store\n";
    ASSIGN_OR_RETURN(std::unique_ptr<bench::Passthrough> passthrough,
                     bench::Passthrough::Start(context));
    load.publish_endpoint = passthrough->publish_endpoint();
    load.stream_endpoint = passthrough->stream_endpoint();
    load.rate = 0;
    load.run_id = run + "-passthrough";
    ASSIGN_OR_RETURN(bench::LoadResult limit, bench::RunLoad(context, load));
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

}  // namespace topicwire::cli
