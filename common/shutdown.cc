#include "common/shutdown.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace topicwire {

absl::StatusOr<Shutdown> Shutdown::FromSignals() {
  // A shell starts background jobs with SIGINT ignored, and an ignored signal is discarded
  // even while blocked: restore the default disposition so it reaches the signalfd.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  if (int err = pthread_sigmask(SIG_BLOCK, &mask, nullptr); err != 0) {
    return absl::InternalError(absl::StrCat("pthread_sigmask: ", std::strerror(err)));
  }
  int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return absl::InternalError(absl::StrCat("signalfd: ", std::strerror(errno)));
  return Shutdown(fd, /*is_signalfd=*/true);
}

absl::StatusOr<Shutdown> Shutdown::Manual() {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  return Shutdown(fd, /*is_signalfd=*/false);
}

Shutdown::Shutdown(Shutdown&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), is_signalfd_(other.is_signalfd_) {}

Shutdown& Shutdown::operator=(Shutdown&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    is_signalfd_ = other.is_signalfd_;
  }
  return *this;
}

Shutdown::~Shutdown() {
  if (fd_ >= 0) close(fd_);
}

void Shutdown::Trigger() {
  if (is_signalfd_) {
    // Blocked signals stay pending until read from the signalfd, so raising one makes fd_
    // readable exactly like a signal from outside would.
    kill(getpid(), SIGTERM);
    return;
  }
  const uint64_t one = 1;
  // An eventfd write only fails when the counter would overflow; it is readable either way.
  [[maybe_unused]] ssize_t n = write(fd_, &one, sizeof(one));
}

bool Shutdown::Requested() const {
  pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

}  // namespace topicwire
