#include "common/supervisor.h"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/time_util.h"
#include "spdlog/spdlog.h"

namespace topicwire {

std::string ChildExit::ToString() const {
  return absl::StrCat(name, ": ", DescribeWaitStatus(wait_status));
}

Supervisor::Supervisor(SupervisorOptions options) : options_(std::move(options)) {
  std::error_code ignored;  // a missing log directory shows up as a failed start
  std::filesystem::create_directories(options_.log_dir, ignored);
}

Supervisor::~Supervisor() {
  // Signal them all before ~Subprocess reaps each, so that they die together.
  for (auto& [name, child] : children_) {
    if (child.process.has_value()) child.process->Signal(SIGKILL);
  }
}

std::string Supervisor::LogPath(const std::string& name) const {
  return (std::filesystem::path(options_.log_dir) / (name + ".log")).string();
}

absl::Status Supervisor::Launch(const std::string& name, Child& child) {
  const std::string log = LogPath(name);
  absl::StatusOr<Subprocess> process = options_.new_process_groups
                                           ? Subprocess::StartInNewProcessGroup(child.argv, log)
                                           : Subprocess::Start(child.argv, log);
  child.process.reset();
  if (!process.ok()) {
    if (options_.restart) {
      spdlog::error("cannot start {}: {}; retrying in {}", name, process.status().ToString(),
                    absl::FormatDuration(child.backoff));
      ScheduleRestart(child, MonotonicNow());
    }
    return process.status();
  }
  child.process.emplace(*std::move(process));
  child.held = false;
  child.started = MonotonicNow();
  child.next_start = absl::InfiniteFuture();
  spdlog::info("started {} (pid {}), log {}", name, child.process->pid(), log);
  return absl::OkStatus();
}

void Supervisor::ScheduleRestart(Child& child, absl::Time now) {
  child.held = !options_.restart;
  if (!options_.restart) return;
  child.next_start = now + child.backoff;
  child.backoff = std::min(child.backoff * 2, options_.max_restart_backoff);
}

absl::Status Supervisor::Start(const std::string& name, std::vector<std::string> argv) {
  auto [it, added] = children_.try_emplace(name);
  Child& child = it->second;
  if (!added && child.process.has_value() && !child.process->Poll().has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(name, " is already running"));
  }
  if (added) child.backoff = options_.restart_backoff;
  child.argv = std::move(argv);
  return Launch(name, child);
}

absl::Status Supervisor::Start(const std::string& name) {
  auto it = children_.find(name);
  if (it == children_.end()) return absl::NotFoundError(name + " was never started");
  std::vector<std::string> argv = it->second.argv;
  return Start(name, std::move(argv));
}

absl::StatusOr<int> Supervisor::Kill(const std::string& name) {
  return Stop(name, SIGKILL, absl::Seconds(10));
}

absl::StatusOr<int> Supervisor::Stop(const std::string& name, int signal, absl::Duration timeout) {
  auto it = children_.find(name);
  if (it == children_.end() || !it->second.process.has_value()) {
    return absl::NotFoundError(name + " was never started");
  }
  Child& child = it->second;
  child.held = true;
  child.next_start = absl::InfiniteFuture();
  child.process->Signal(signal);
  return child.process->Wait(timeout);
}

bool Supervisor::Running(const std::string& name) {
  Subprocess* child = process(name);
  return child != nullptr && !child->Poll().has_value();
}

Subprocess* Supervisor::process(const std::string& name) {
  auto it = children_.find(name);
  if (it == children_.end() || !it->second.process.has_value()) return nullptr;
  return &*it->second.process;
}

std::vector<std::string> Supervisor::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, child] : children_) names.push_back(name);
  return names;
}

std::vector<ChildExit> Supervisor::Poll() {
  std::vector<ChildExit> exits;
  const absl::Time now = MonotonicNow();
  for (auto& [name, child] : children_) {
    if (child.held || !child.process.has_value()) continue;
    const std::optional<int> status = child.process->Poll();
    if (!status.has_value()) continue;
    exits.push_back({.name = name, .wait_status = *status});
    if (now - child.started >= options_.backoff_reset_after) {
      child.backoff = options_.restart_backoff;
    }
    if (options_.restart) {
      spdlog::warn("{} {}; restarting it in {} (see {})", name, DescribeWaitStatus(*status),
                   absl::FormatDuration(child.backoff), LogPath(name));
    } else {
      spdlog::warn("{} {} (see {})", name, DescribeWaitStatus(*status), LogPath(name));
    }
    child.process.reset();
    ScheduleRestart(child, now);
  }
  for (auto& [name, child] : children_) {
    if (!child.held && !child.process.has_value() && now >= child.next_start) {
      (void)Launch(name, child);  // a failure is logged and rescheduled
    }
  }
  return exits;
}

std::vector<StopResult> Supervisor::StopInOrder(const std::vector<std::vector<std::string>>& groups,
                                                absl::Duration timeout) {
  std::vector<StopResult> results;
  for (const std::vector<std::string>& group : groups) {
    std::vector<std::pair<std::string, Child*>> stopping;
    for (const std::string& name : group) {
      auto it = children_.find(name);
      if (it == children_.end()) continue;
      Child& child = it->second;
      child.next_start = absl::InfiniteFuture();
      if (!child.process.has_value()) {
        child.held = true;
        continue;
      }
      if (std::optional<int> status = child.process->Poll(); status.has_value() && !child.held) {
        results.push_back({.name = name, .wait_status = status, .exited_before = true});
      } else if (!status.has_value()) {
        child.process->Signal(SIGTERM);
        stopping.emplace_back(name, &child);
      }
      child.held = true;
    }
    const absl::Time deadline = MonotonicNow() + timeout;
    for (auto& [name, child] : stopping) {
      absl::StatusOr<int> status =
          child->process->Wait(std::max(absl::ZeroDuration(), deadline - MonotonicNow()));
      if (status.ok()) {
        spdlog::info("{} stopped: {}", name, DescribeWaitStatus(*status));
        results.push_back({.name = name, .wait_status = *status});
        continue;
      }
      spdlog::warn("{} did not stop within {}; killing it", name, absl::FormatDuration(timeout));
      child->process->Signal(SIGKILL);
      (void)child->process->Wait(absl::Seconds(5));
      results.push_back({.name = name, .wait_status = std::nullopt});
    }
  }
  return results;
}

absl::StatusOr<std::string> ExecutableDir() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot read /proc/self/exe: ", error.message()));
  }
  return self.parent_path().string();
}

}  // namespace topicwire
