// Readiness: whether a stage can do its job, as /readyz reports it. The stage thread sets it and
// the HTTP server's threads read it, so every method is thread-safe.
#ifndef TOPICWIRE_COMMON_READINESS_H_
#define TOPICWIRE_COMMON_READINESS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace topicwire {

// A stage is ready when each of its conditions holds (journal open, sockets bound, a connection
// to the next stage, ...). A stage names its conditions by an enum of its own, whose values are
// indices into the reasons given at construction.
class Readiness {
 public:
  // One condition per entry of `unmet_reasons`, each unmet at first; while condition i is unmet,
  // Ready() names unmet_reasons[i] (e.g. "no connection to sink").
  explicit Readiness(std::vector<std::string> unmet_reasons);

  Readiness(const Readiness&) = delete;
  Readiness& operator=(const Readiness&) = delete;

  // Marks `condition` met, or unmet with the reason given at construction.
  // REQUIRES: condition < the number of reasons given at construction.
  void Set(size_t condition, bool met);
  // Marks `condition` unmet with `reason` instead (e.g. "stopping" where it said "starting").
  void SetUnmet(size_t condition, std::string reason);
  bool IsMet(size_t condition) const;

  // A line /readyz adds to its answer, ready or not (e.g. classify's taxonomy version); empty:
  // none.
  void SetDetail(std::string detail);
  std::string detail() const;

  // OK when every condition is met, else kUnavailable naming each unmet one (joined by "; ").
  absl::Status Ready() const;

 private:
  struct Condition {
    std::string reason;  // what Ready() says while unmet
    std::string initial_reason;
    bool met = false;
  };
  mutable absl::Mutex mutex_;
  std::vector<Condition> conditions_ ABSL_GUARDED_BY(mutex_);
  std::string detail_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace topicwire

#endif  // TOPICWIRE_COMMON_READINESS_H_
