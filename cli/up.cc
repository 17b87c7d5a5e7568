#include "cli/up.h"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <system_error>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "common/subprocess.h"
#include "common/zmq_channel.h"
#include "spdlog/spdlog.h"

namespace topicwire::cli {
namespace {

// Stages connect to each other through this host: a wildcard bind address is not one to
// connect to.
std::string ConnectHost(const UpOptions& options) {
  if (options.bind_host == "0.0.0.0" || options.bind_host == "*") return "127.0.0.1";
  return options.bind_host;
}

std::string BindEndpoint(const UpOptions& options, int offset) {
  return absl::StrCat("tcp://", options.bind_host, ":", options.base_port + offset);
}

std::string ConnectEndpoint(const UpOptions& options, int offset) {
  return absl::StrCat("tcp://", ConnectHost(options), ":", options.base_port + offset);
}

std::string HttpListen(const UpOptions& options, int offset) {
  const std::string host = options.bind_host == "*" ? "0.0.0.0" : options.bind_host;
  return absl::StrCat(host, ":", options.base_port + offset);
}

// A stage as `up` runs it: its plan, the process when running, and when to start it again.
struct Child {
  StagePlan plan{};
  std::optional<Subprocess> process{};
  absl::Time started = absl::InfinitePast();
  absl::Time next_start = absl::InfinitePast();
  absl::Duration backoff{};
};

std::string LogPath(const UpOptions& options, const std::string& name) {
  return (std::filesystem::path(options.data_dir) / "logs" / (name + ".log")).string();
}

void StartChild(const UpOptions& options, Child& child) {
  // Its own process group: a terminal's Ctrl-C reaches only `up`, which stops the stages in
  // order instead of all at once.
  absl::StatusOr<Subprocess> process =
      Subprocess::StartInNewProcessGroup(child.plan.argv, LogPath(options, child.plan.name));
  if (!process.ok()) {
    spdlog::error("cannot start {}: {}; retrying in {}", child.plan.name,
                  process.status().ToString(), absl::FormatDuration(child.backoff));
    child.next_start = absl::Now() + child.backoff;
    child.backoff = std::min(child.backoff * 2, options.max_restart_backoff);
    return;
  }
  child.process.emplace(std::move(*process));
  child.started = absl::Now();
  spdlog::info("started {} (pid {}), log {}", child.plan.name, child.process->pid(),
               LogPath(options, child.plan.name));
}

// Sends SIGTERM to every child in `group` at once, waits for them up to the stop timeout, then
// SIGKILLs the rest.
void StopGroup(const UpOptions& options, std::vector<Child*> group) {
  for (Child* child : group) {
    if (child->process.has_value() && child->process->running()) {
      child->process->Signal(SIGTERM);
    }
  }
  const absl::Time deadline = absl::Now() + options.stop_timeout;
  for (Child* child : group) {
    if (!child->process.has_value()) continue;
    absl::StatusOr<int> status =
        child->process->Wait(std::max(absl::ZeroDuration(), deadline - absl::Now()));
    if (status.ok()) {
      spdlog::info("{} stopped: {}", child->plan.name, DescribeWaitStatus(*status));
      continue;
    }
    spdlog::warn("{} did not stop within {}; killing it", child->plan.name,
                 absl::FormatDuration(options.stop_timeout));
    child->process->Signal(SIGKILL);
    (void)child->process->Wait(absl::Seconds(5));
  }
}

}  // namespace

std::vector<StagePlan> PlanStages(const UpOptions& options, const std::string& bin_dir) {
  const std::filesystem::path bin(bin_dir);
  const std::filesystem::path data(options.data_dir);
  const std::string log_level = absl::StrCat("--log_level=", options.log_level);
  std::vector<StagePlan> plans;

  StagePlan ingest{.name = "ingest"};
  ingest.argv = {(bin / "ingest").string(),
                 absl::StrCat("--publish_endpoint=", BindEndpoint(options, 0)),
                 absl::StrCat("--work_endpoint=", BindEndpoint(options, 3)),
                 absl::StrCat("--commit_endpoint=", BindEndpoint(options, 5)),
                 // Admin (dead letters) stays on loopback whatever --bind says.
                 absl::StrCat("--admin_endpoint=tcp://127.0.0.1:", options.base_port + 9),
                 absl::StrCat("--journal=", (data / "ingest" / "journal.db").string()), log_level};
  if (options.http) ingest.argv.push_back(absl::StrCat("--http_listen=", HttpListen(options, 6)));
  plans.push_back(std::move(ingest));

  StagePlan sink{.name = "sink"};
  sink.argv = {(bin / "sink").string(),
               absl::StrCat("--input_endpoint=", BindEndpoint(options, 4)),
               absl::StrCat("--stream_endpoint=", BindEndpoint(options, 1)),
               absl::StrCat("--history_endpoint=", BindEndpoint(options, 2)),
               absl::StrCat("--commit_endpoint=", ConnectEndpoint(options, 5)),
               absl::StrCat("--store=", (data / "sink" / "store.db").string()),
               log_level};
  if (options.http) sink.argv.push_back(absl::StrCat("--http_listen=", HttpListen(options, 7)));
  plans.push_back(std::move(sink));

  for (int i = 0; i < options.workers; ++i) {
    StagePlan worker{.name = absl::StrCat("classify-", i)};
    worker.argv = {(bin / "classify").string(),
                   absl::StrCat("--work_endpoint=", ConnectEndpoint(options, 3)),
                   absl::StrCat("--sink_endpoint=", ConnectEndpoint(options, 4)), log_level};
    if (!options.taxonomy.empty()) {
      worker.argv.push_back(absl::StrCat("--taxonomy=", options.taxonomy));
    }
    if (options.http) {
      worker.argv.push_back(absl::StrCat("--http_listen=", HttpListen(options, 10 + i)));
    }
    plans.push_back(std::move(worker));
  }
  return plans;
}

std::string DescribeEndpoints(const UpOptions& options) {
  const std::string host = ConnectHost(options);
  const auto endpoint = [&](int offset) {
    return absl::StrCat("tcp://", host, ":", options.base_port + offset);
  };
  std::string text = absl::StrCat("publish    ", endpoint(0), "   (topicwire publish --to)\n",
                                  "subscribe  ", endpoint(1), "   (topicwire subscribe --from)\n",
                                  "history    ", endpoint(2), "   (topicwire subscribe --since)\n");
  if (options.http) {
    absl::StrAppend(&text, "metrics    http://", host, ":", options.base_port + 6,
                    "/metrics (ingest), :", options.base_port + 7,
                    " (sink), :", options.base_port + 10, "+i (classify-i)\n");
  }
  absl::StrAppend(&text, "admin      tcp://127.0.0.1:", options.base_port + 9,
                  "   (topicwire deadletters --admin)\n");
  absl::StrAppend(&text, "data       ", options.data_dir, "  (logs in ",
                  (std::filesystem::path(options.data_dir) / "logs").string(), ")\n");
  return text;
}

absl::StatusOr<std::string> ExecutableDir() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot read /proc/self/exe: ", error.message()));
  }
  return self.parent_path().string();
}

absl::Status RunUp(const UpOptions& options, int shutdown_fd, std::ostream& out) {
  std::string bin_dir = options.bin_dir;
  if (bin_dir.empty()) {
    ASSIGN_OR_RETURN(bin_dir, ExecutableDir());
  }
  for (const char* binary : {"ingest", "classify", "sink"}) {
    const std::filesystem::path path = std::filesystem::path(bin_dir) / binary;
    if (access(path.c_str(), X_OK) != 0) {
      return absl::NotFoundError(absl::StrCat("cannot find the ", binary, " binary at ",
                                              path.string(), " (build it, or pass --bin-dir)"));
    }
  }
  for (const char* sub : {"ingest", "sink", "logs"}) {
    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(options.data_dir) / sub, error);
    if (error) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", options.data_dir, "/", sub, ": ", error.message()));
    }
  }

  // The stages are not in the terminal's process group, so a hangup (terminal closed) must stop
  // them through `up` as SIGINT/SIGTERM do, instead of leaving them orphaned.
  sigset_t hangup;
  sigemptyset(&hangup);
  sigaddset(&hangup, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hangup, nullptr);
  const int hangup_fd = signalfd(-1, &hangup, SFD_CLOEXEC | SFD_NONBLOCK);
  absl::Cleanup close_hangup_fd = [hangup_fd] {
    if (hangup_fd >= 0) close(hangup_fd);
  };

  std::vector<Child> children;
  for (StagePlan& plan : PlanStages(options, bin_dir)) {
    children.push_back({.plan = std::move(plan), .backoff = options.restart_backoff});
  }
  for (Child& child : children) StartChild(options, child);
  out << DescribeEndpoints(options) << std::flush;
  spdlog::info("pipeline up: {} workers, base port {}; Ctrl-C stops it", options.workers,
               options.base_port);

  // Supervision: notice children that died and start them again after their backoff.
  while (true) {
    std::vector<zmq::pollitem_t> items = {{nullptr, shutdown_fd, ZMQ_POLLIN, 0},
                                          {nullptr, hangup_fd, ZMQ_POLLIN, 0}};
    ASSIGN_OR_RETURN(int ready, topicwire::Poll(items, absl::Milliseconds(100)));
    if (ready > 0 && ((items[0].revents | items[1].revents) & ZMQ_POLLIN)) break;
    const absl::Time now = absl::Now();
    for (Child& child : children) {
      if (child.process.has_value()) {
        std::optional<int> status = child.process->Poll();
        if (!status.has_value()) continue;
        if (now - child.started > absl::Minutes(1)) child.backoff = options.restart_backoff;
        spdlog::warn("{} {}; restarting it in {} (see {})", child.plan.name,
                     DescribeWaitStatus(*status), absl::FormatDuration(child.backoff),
                     LogPath(options, child.plan.name));
        child.process.reset();
        child.next_start = now + child.backoff;
        child.backoff = std::min(child.backoff * 2, options.max_restart_backoff);
        continue;
      }
      if (now >= child.next_start) StartChild(options, child);
    }
  }

  // Stop in dependency order so that nothing accepted is lost, and little is redone: ingest
  // first (it stops taking input; everything it accepted is in its journal), then the workers
  // (they finish what they hold and push it to sink), then sink (it stores what reached it).
  // CommitAcks sink sends after ingest stopped only cost a redelivery on the next start, which
  // sink's idempotent store absorbs.
  spdlog::info("stopping: ingest, then workers, then sink");
  std::vector<Child*> ingest, workers, sink;
  for (Child& child : children) {
    if (child.plan.name == "ingest") {
      ingest.push_back(&child);
    } else if (child.plan.name == "sink") {
      sink.push_back(&child);
    } else {
      workers.push_back(&child);
    }
  }
  StopGroup(options, ingest);
  StopGroup(options, workers);
  StopGroup(options, sink);
  spdlog::info("all stages stopped");
  return absl::OkStatus();
}

}  // namespace topicwire::cli
