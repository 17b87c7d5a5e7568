// Shutdown: a file descriptor that becomes readable when the process should stop, so that a
// stage's zmq::poll loop sees SIGINT/SIGTERM as one more event (Envoy's "signal as a loop event").
#ifndef TOPICWIRE_COMMON_SHUTDOWN_H_
#define TOPICWIRE_COMMON_SHUTDOWN_H_

#include "absl/status/statusor.h"

namespace topicwire {

class Shutdown {
 public:
  // Blocks SIGINT and SIGTERM in the calling thread and returns a Shutdown whose fd() becomes
  // readable when either arrives. REQUIRES: called before any other thread (including libzmq's)
  // starts, so that every thread inherits the mask.
  static absl::StatusOr<Shutdown> FromSignals();
  // Returns a Shutdown that fires only through Trigger(); for tests.
  static absl::StatusOr<Shutdown> Manual();

  Shutdown(Shutdown&& other) noexcept;
  Shutdown& operator=(Shutdown&& other) noexcept;
  Shutdown(const Shutdown&) = delete;
  Shutdown& operator=(const Shutdown&) = delete;
  ~Shutdown();

  // Readable once shutdown was requested; stays readable (level-triggered) until the Shutdown
  // is destroyed, so every loop that polls it sees it.
  int fd() const { return fd_; }
  // Requests shutdown. Safe from any thread.
  void Trigger();
  // True once shutdown was requested (non-blocking).
  bool Requested() const;

 private:
  Shutdown(int fd, bool is_signalfd) : fd_(fd), is_signalfd_(is_signalfd) {}
  int fd_ = -1;
  bool is_signalfd_ = false;
};

}  // namespace topicwire

#endif  // TOPICWIRE_COMMON_SHUTDOWN_H_
