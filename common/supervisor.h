// Supervision of named child processes: start them with their output in one log file each,
// restart one that dies on its own with exponential backoff, kill -9 one on demand, and stop
// them in an order. `topicwire up`, `topicwire bench`, topicwire-chaos and the end-to-end tests
// run the stages through it.
#ifndef TOPICWIRE_COMMON_SUPERVISOR_H_
#define TOPICWIRE_COMMON_SUPERVISOR_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/subprocess.h"

namespace topicwire {

struct SupervisorOptions {
  // Each child's stdout and stderr are appended to LOG_DIR/<name>.log; created when missing.
  std::string log_dir;
  // Start every child in a process group of its own, so that a terminal's Ctrl-C reaches only
  // the supervising process, which then stops the children in its own order.
  bool new_process_groups = false;
  // Poll() starts a child that exited on its own again (after its backoff). false: Poll() only
  // reports it and it stays down until Start().
  bool restart = false;
  // The first restart waits this long; each further one twice as long, up to
  // max_restart_backoff. 0: Poll() restarts a dead child at once.
  absl::Duration restart_backoff = absl::Milliseconds(200);
  absl::Duration max_restart_backoff = absl::Seconds(5);
  // A child that ran at least this long before it died starts over at restart_backoff.
  absl::Duration backoff_reset_after = absl::Minutes(1);
};

// A child that exited without being asked to.
struct ChildExit {
  std::string name;
  int wait_status = 0;
  // "<name>: exited with 3", "<name>: killed by signal 9 (Killed)".
  std::string ToString() const;
};

// What stopping one child came to.
struct StopResult {
  std::string name;
  // Its wait status; nullopt when it had to be SIGKILLed after the timeout.
  std::optional<int> wait_status;
  // It had already exited before the stop signal (its wait status is then that exit's).
  bool exited_before = false;
};

// Not thread-safe: one thread at a time calls it. Children still running when it is destroyed
// are SIGKILLed and reaped.
class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions options);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts a child called `name` running `argv` (remembered for restarts; a known name takes the
  // new argv). kFailedPrecondition when it is running. When the start fails and restart is on,
  // Poll() tries again after the backoff.
  absl::Status Start(const std::string& name, std::vector<std::string> argv);
  // Starts `name` again with its last argv. kNotFound when it was never started.
  absl::Status Start(const std::string& name);

  // SIGKILLs `name` and reaps it (kill -9 on demand). It stays down until Start(); returns its
  // wait status. kNotFound when it was never started.
  absl::StatusOr<int> Kill(const std::string& name);
  // Sends `signal` to `name` and waits up to `timeout` for it to exit; it then stays down until
  // Start(). Returns the wait status, or kDeadlineExceeded (it is left running).
  absl::StatusOr<int> Stop(const std::string& name, int signal, absl::Duration timeout);

  // Whether `name` is running now.
  bool Running(const std::string& name);
  // The current process of `name`, running or exited; nullptr when there is none.
  Subprocess* process(const std::string& name);
  // The names started so far, sorted.
  std::vector<std::string> Names() const;
  // LOG_DIR/<name>.log.
  std::string LogPath(const std::string& name) const;

  // Reaps the children that exited on their own since the last call and returns them. With
  // restart on, schedules each to start again after its backoff, and starts those whose time has
  // come.
  std::vector<ChildExit> Poll();

  // Stops children group by group: every child of a group gets SIGTERM at once and `timeout` to
  // exit, then SIGKILL; the next group starts after that. Children named in no group keep
  // running. Stopped children stay down until Start().
  std::vector<StopResult> StopInOrder(const std::vector<std::vector<std::string>>& groups,
                                      absl::Duration timeout);

 private:
  struct Child {
    std::vector<std::string> argv;
    std::optional<Subprocess> process;
    // Down on purpose (Kill, Stop, StopInOrder) or already reported by Poll(): not a new exit.
    bool held = false;
    absl::Time started = absl::InfinitePast();
    absl::Time next_start = absl::InfiniteFuture();
    absl::Duration backoff;
  };
  absl::Status Launch(const std::string& name, Child& child);
  void ScheduleRestart(Child& child, absl::Time now);

  SupervisorOptions options_;
  std::map<std::string, Child> children_;
};

// Directory of the running executable (from /proc/self/exe): where `topicwire` looks for the
// stage binaries by default.
absl::StatusOr<std::string> ExecutableDir();

}  // namespace topicwire

#endif  // TOPICWIRE_COMMON_SUPERVISOR_H_
