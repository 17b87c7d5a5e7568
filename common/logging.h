// One logging setup for every binary: spdlog to stderr, one line per event, tagged with the
// service name.
#ifndef TOPICWIRE_COMMON_LOGGING_H_
#define TOPICWIRE_COMMON_LOGGING_H_

#include <string>

#include "absl/status/status.h"

namespace topicwire {

// Sends log lines to stderr as "<time> <level> <service> <message>". `level` is one of trace,
// debug, info, warn, error, critical, off.
absl::Status InitLogging(const std::string& service, const std::string& level = "info");

}  // namespace topicwire

#endif  // TOPICWIRE_COMMON_LOGGING_H_
