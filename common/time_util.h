// Conversions between absl::Time and the protobuf well-known time types the wire messages use.
#ifndef TOPICWIRE_COMMON_TIME_UTIL_H_
#define TOPICWIRE_COMMON_TIME_UTIL_H_

#include <time.h>

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"

namespace topicwire {

// `time` as a protobuf Timestamp, to the nanosecond (nanos normalized to [0, 1e9) by protobuf).
inline google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(time));
}

// A time from the monotonic clock, for timers (deadlines, heartbeats, liveness): it never jumps
// when the wall clock is set. Only differences between two MonotonicNow() values mean anything;
// timestamps shown to users or stored come from absl::Now().
inline absl::Time MonotonicNow() {
  struct timespec now {};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return absl::UnixEpoch() + absl::DurationFromTimespec(now);
}

// The two clocks a component reads: `monotonic` for its timers, `wall` for the times it stores or
// shows. Tests substitute either, e.g. a wall clock that is stepped by an hour.
struct Clocks {
  std::function<absl::Time()> monotonic = MonotonicNow;
  std::function<absl::Time()> wall = [] { return absl::Now(); };
};

}  // namespace topicwire

#endif  // TOPICWIRE_COMMON_TIME_UTIL_H_
