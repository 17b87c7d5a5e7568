// Containers are configured by environment variables: TOPICWIRE_<FLAG NAME IN CAPITALS> sets
// --<flag name> (e.g. TOPICWIRE_JOURNAL=/data/journal.db sets --journal). The command line wins
// over the environment.
#ifndef TOPICWIRE_COMMON_ENV_FLAGS_H_
#define TOPICWIRE_COMMON_ENV_FLAGS_H_

#include "absl/status/status.h"

namespace topicwire {

// Applies TOPICWIRE_* environment variables to the binary's flags. Call before
// absl::ParseCommandLine so that explicit flags override. Fails naming the variable when a value
// does not parse.
absl::Status ApplyFlagsFromEnvironment();

}  // namespace topicwire

#endif  // TOPICWIRE_COMMON_ENV_FLAGS_H_
