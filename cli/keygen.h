// `topicwire keygen`: creates a CurveZMQ key pair for a stage or a client (common/curve_keys.h).
#ifndef TOPICWIRE_CLI_KEYGEN_H_
#define TOPICWIRE_CLI_KEYGEN_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "cli/command.h"

namespace topicwire::cli {

// Writes a fresh key pair to PREFIX.key (mode 0600) and PREFIX.pub, prints the public key alone
// on `out` (for scripts) and where the files are on `err`. kAlreadyExists when PREFIX.key exists:
// a secret key is never overwritten.
absl::Status Keygen(const std::string& prefix, std::ostream& out, std::ostream& err);

// `topicwire keygen`: its flags and help, and Keygen() behind them.
const Command& KeygenCommand();

}  // namespace topicwire::cli

#endif  // TOPICWIRE_CLI_KEYGEN_H_
