#include "chaos/cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"

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

Cluster::Cluster(ClusterOptions options)
    : options_(std::move(options)),
      ports_(options_.base_port, options_.workers),
      // Restarts happen only when asked (RestartExited), at once: the chaos itself is the delay.
      supervisor_({.log_dir = options_.data_dir + "/logs",
                   .restart = true,
                   .restart_backoff = absl::ZeroDuration(),
                   .max_restart_backoff = absl::ZeroDuration()}) {}

// ~Supervisor SIGKILLs whatever is still running.
Cluster::~Cluster() = default;

std::vector<std::string> Cluster::StageNames() const {
  std::vector<std::string> names;
  for (const topology::StageCommand& stage : topology::PipelineCommands(Launch())) {
    names.push_back(stage.name);
  }
  return names;
}

std::string Cluster::KindOf(const std::string& stage) {
  const std::optional<topology::Stage> kind = topology::StageOf(stage);
  return kind.has_value() ? std::string(topology::StageBinary(*kind)) : stage;
}

std::string Cluster::Connect(topology::Endpoint endpoint) const {
  return topology::ConnectAddress(ports_, endpoint, "127.0.0.1");
}

topology::LaunchOptions Cluster::Launch() const {
  return {.ports = ports_,
          .bin_dir = options_.bin_dir,
          .data_dir = options_.data_dir,
          .log_level = options_.log_level,
          .ingest_flags = {"--redelivery_timeout=" +
                           absl::FormatDuration(options_.redelivery_timeout)}};
}

absl::Status Cluster::Start(const std::string& stage) {
  for (const topology::StageCommand& command : topology::PipelineCommands(Launch())) {
    if (command.name == stage) return supervisor_.Start(stage, command.argv);
  }
  return absl::NotFoundError(stage + " is not a stage of this cluster");
}

absl::Status Cluster::StartAll() {
  for (const std::string& stage : StageNames()) {
    if (absl::Status status = Start(stage); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status Cluster::Kill(const std::string& stage) {
  absl::StatusOr<int> status = supervisor_.Kill(stage);
  return status.ok() ? absl::OkStatus() : status.status();
}

bool Cluster::Running(const std::string& stage) { return supervisor_.Running(stage); }

std::vector<std::string> Cluster::RestartExited() {
  std::vector<std::string> exited;
  for (const ChildExit& exit : supervisor_.Poll()) exited.push_back(exit.ToString());
  return exited;
}

std::vector<std::string> Cluster::StopAll(absl::Duration timeout) {
  // Workers first so that nothing new reaches sink, then ingest, then sink; one at a time.
  std::vector<std::string> names = StageNames();
  std::rotate(names.begin(), names.begin() + 2, names.end());
  std::vector<std::vector<std::string>> order;
  for (std::string& name : names) order.push_back({std::move(name)});
  std::vector<std::string> unclean;
  for (const StopResult& stopped : supervisor_.StopInOrder(order, timeout)) {
    if (!stopped.wait_status.has_value()) {
      unclean.push_back(absl::StrCat(stopped.name, ": still running ",
                                     absl::FormatDuration(timeout), " after SIGTERM"));
    } else if (stopped.exited_before) {
      unclean.push_back(absl::StrCat(stopped.name, ": ", DescribeWaitStatus(*stopped.wait_status),
                                     " before the final SIGTERM"));
    } else if (*stopped.wait_status != 0) {
      unclean.push_back(absl::StrCat(stopped.name, ": ", DescribeWaitStatus(*stopped.wait_status),
                                     " after SIGTERM"));
    }
  }
  return unclean;
}

}  // namespace topicwire::chaos
