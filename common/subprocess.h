// Child processes: used by `topicwire up` to run the stages and by end-to-end tests to start,
// kill -9 and restart the real binaries.
#ifndef TOPICWIRE_COMMON_SUBPROCESS_H_
#define TOPICWIRE_COMMON_SUBPROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace topicwire {

class Subprocess {
 public:
  // Starts argv[0] (a path, or a name looked up in PATH) with `argv`. When `log_path` is set,
  // the child's stdout and stderr are appended to that file.
  static absl::StatusOr<Subprocess> Start(const std::vector<std::string>& argv,
                                          const std::optional<std::string>& log_path = {});
  // Like Start, but the child leads a new process group. A terminal's Ctrl-C goes to the
  // foreground process group only, so such children hear it from the parent (`topicwire up`),
  // which can then stop them in its own order.
  static absl::StatusOr<Subprocess> StartInNewProcessGroup(
      const std::vector<std::string>& argv, const std::optional<std::string>& log_path = {});

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  // Kills (SIGKILL) and reaps a child that is still running, so no test leaks processes.
  ~Subprocess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !exit_status_.has_value(); }

  // Sends `signal` to the child.
  void Signal(int signal) const;
  // Waits up to `timeout` for the child to exit. Returns its wait status (as from waitpid), or
  // kDeadlineExceeded.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // Returns the wait status if the child has exited, without blocking.
  std::optional<int> Poll();

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  static absl::StatusOr<Subprocess> Spawn(const std::vector<std::string>& argv,
                                          const std::optional<std::string>& log_path,
                                          bool new_process_group);
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

// Describes a wait status for logs: "exited with 0", "killed by signal 9".
std::string DescribeWaitStatus(int wait_status);

}  // namespace topicwire

#endif  // TOPICWIRE_COMMON_SUBPROCESS_H_
