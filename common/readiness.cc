#include "common/readiness.h"

#include <cassert>
#include <utility>

#include "absl/strings/str_join.h"

namespace topicwire {

Readiness::Readiness(std::vector<std::string> unmet_reasons) {
  conditions_.reserve(unmet_reasons.size());
  for (std::string& reason : unmet_reasons) {
    conditions_.push_back(Condition{.reason = reason, .initial_reason = std::move(reason)});
  }
}

void Readiness::Set(size_t condition, bool met) {
  absl::MutexLock lock(&mutex_);
  assert(condition < conditions_.size());
  Condition& entry = conditions_[condition];
  entry.met = met;
  if (!met) entry.reason = entry.initial_reason;
}

void Readiness::SetUnmet(size_t condition, std::string reason) {
  absl::MutexLock lock(&mutex_);
  assert(condition < conditions_.size());
  conditions_[condition].met = false;
  conditions_[condition].reason = std::move(reason);
}

bool Readiness::IsMet(size_t condition) const {
  absl::MutexLock lock(&mutex_);
  assert(condition < conditions_.size());
  return conditions_[condition].met;
}

void Readiness::SetDetail(std::string detail) {
  absl::MutexLock lock(&mutex_);
  detail_ = std::move(detail);
}

std::string Readiness::detail() const {
  absl::MutexLock lock(&mutex_);
  return detail_;
}

absl::Status Readiness::Ready() const {
  absl::MutexLock lock(&mutex_);
  std::vector<absl::string_view> unmet;
  for (const Condition& condition : conditions_) {
    if (!condition.met) unmet.push_back(condition.reason);
  }
  if (unmet.empty()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrJoin(unmet, "; "));
}

}  // namespace topicwire
