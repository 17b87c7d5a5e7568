#include "chaos/cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace topicwire::chaos {
namespace {

bool CanBind(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return bound;
}

}  // namespace

absl::StatusOr<int> FindFreePortRange(int count) {
  // Below the ephemeral range (32768+), where the kernel picks ports for outgoing connections.
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> base_of(20000, 32000 - count);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int base = base_of(random);
    bool all_free = true;
    for (int i = 0; i < count && all_free; ++i) all_free = CanBind(base + i);
    if (all_free) return base;
  }
  return absl::UnavailableError(
      absl::StrCat("found no ", count, " consecutive free loopback ports; pass --base_port"));
}

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
  std::filesystem::create_directories(options_.data_dir + "/logs");
}

Cluster::~Cluster() {
  for (auto& [stage, process] : processes_) process.Signal(SIGKILL);
}

std::vector<std::string> Cluster::StageNames() const {
  std::vector<std::string> names = {"ingest", "sink"};
  for (int i = 0; i < options_.workers; ++i) names.push_back(absl::StrCat("classify-", i));
  return names;
}

std::string Cluster::KindOf(const std::string& stage) {
  return absl::StartsWith(stage, "classify") ? "classify" : stage;
}

std::string Cluster::Endpoint(int offset) const {
  return absl::StrCat("tcp://127.0.0.1:", options_.base_port + offset);
}

std::string Cluster::LogPath(const std::string& stage) const {
  return absl::StrCat(options_.data_dir, "/logs/", stage, ".log");
}

std::vector<std::string> Cluster::Argv(const std::string& stage) const {
  const std::string log_level = "--log_level=" + options_.log_level;
  if (stage == "ingest") {
    return {options_.bin_dir + "/ingest",
            "--publish_endpoint=" + Endpoint(0),
            "--work_endpoint=" + Endpoint(3),
            "--commit_endpoint=" + Endpoint(5),
            "--admin_endpoint=" + Endpoint(9),
            "--journal=" + options_.data_dir + "/ingest/journal.db",
            "--redelivery_timeout=" + absl::FormatDuration(options_.redelivery_timeout),
            absl::StrCat("--http_listen=127.0.0.1:", ingest_http_port()),
            log_level};
  }
  if (stage == "sink") {
    return {options_.bin_dir + "/sink",
            "--input_endpoint=" + Endpoint(4),
            "--stream_endpoint=" + Endpoint(1),
            "--history_endpoint=" + Endpoint(2),
            "--commit_endpoint=" + Endpoint(5),
            "--store=" + store_path(),
            absl::StrCat("--http_listen=127.0.0.1:", sink_http_port()),
            log_level};
  }
  int index = 0;
  (void)absl::SimpleAtoi(stage.substr(stage.find('-') + 1), &index);
  return {options_.bin_dir + "/classify", "--work_endpoint=" + Endpoint(3),
          "--sink_endpoint=" + Endpoint(4),
          absl::StrCat("--http_listen=127.0.0.1:", options_.base_port + 10 + index), log_level};
}

absl::Status Cluster::Start(const std::string& stage) {
  if (auto it = processes_.find(stage); it != processes_.end()) {
    if (!it->second.Poll().has_value()) {
      return absl::FailedPreconditionError(stage + " is already running");
    }
    processes_.erase(it);
  }
  absl::StatusOr<Subprocess> process = Subprocess::Start(Argv(stage), LogPath(stage));
  if (!process.ok()) return process.status();
  spdlog::debug("started {} (pid {})", stage, process->pid());
  processes_.emplace(stage, *std::move(process));
  return absl::OkStatus();
}

absl::Status Cluster::StartAll() {
  for (const std::string& stage : StageNames()) {
    if (absl::Status status = Start(stage); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status Cluster::Kill(const std::string& stage) {
  auto it = processes_.find(stage);
  if (it == processes_.end()) return absl::NotFoundError(stage + " was never started");
  it->second.Signal(SIGKILL);
  absl::StatusOr<int> status = it->second.Wait(absl::Seconds(10));
  if (!status.ok()) return status.status();
  return absl::OkStatus();
}

bool Cluster::Running(const std::string& stage) {
  auto it = processes_.find(stage);
  return it != processes_.end() && !it->second.Poll().has_value();
}

std::vector<std::string> Cluster::RestartExited() {
  std::vector<std::string> exited;
  for (const std::string& stage : StageNames()) {
    auto it = processes_.find(stage);
    if (it == processes_.end()) continue;
    const std::optional<int> status = it->second.Poll();
    if (!status.has_value()) continue;
    exited.push_back(absl::StrCat(stage, ": ", DescribeWaitStatus(*status)));
    spdlog::warn("{} {} on its own; restarting it (log: {})", stage, DescribeWaitStatus(*status),
                 LogPath(stage));
    if (absl::Status started = Start(stage); !started.ok()) {
      spdlog::error("cannot restart {}: {}", stage, started.ToString());
    }
  }
  return exited;
}

std::vector<std::string> Cluster::StopAll(absl::Duration timeout) {
  std::vector<std::string> names = StageNames();
  // Workers first so that nothing new reaches sink, then ingest, then sink.
  std::rotate(names.begin(), names.begin() + 2, names.end());
  std::vector<std::string> unclean;
  for (const std::string& stage : names) {
    auto it = processes_.find(stage);
    if (it == processes_.end()) continue;
    if (it->second.Poll().has_value()) {
      unclean.push_back(absl::StrCat(stage, ": ", DescribeWaitStatus(*it->second.Poll()),
                                     " before the final SIGTERM"));
      continue;
    }
    it->second.Signal(SIGTERM);
    absl::StatusOr<int> status = it->second.Wait(timeout);
    if (!status.ok()) {
      it->second.Signal(SIGKILL);
      (void)it->second.Wait(absl::Seconds(5));
      unclean.push_back(
          absl::StrCat(stage, ": still running ", absl::FormatDuration(timeout), " after SIGTERM"));
    } else if (*status != 0) {
      unclean.push_back(absl::StrCat(stage, ": ", DescribeWaitStatus(*status), " after SIGTERM"));
    }
  }
  return unclean;
}

}  // namespace topicwire::chaos
