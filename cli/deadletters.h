// `topicwire deadletters list|replay`: shows and re-sends the articles ingest set aside after
// too many failed delivery attempts, through ingest's admin endpoint (proto/admin.proto).
#ifndef TOPICWIRE_CLI_DEADLETTERS_H_
#define TOPICWIRE_CLI_DEADLETTERS_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/command.h"
#include "cli/command_line.h"
#include "cli/output.h"
#include "common/curve_keys.h"
#include "proto/admin.pb.h"
#include "zmq.hpp"

namespace topicwire::cli {

struct DeadLettersOptions {
  // ingest's admin ROUTER (its --admin_endpoint).
  std::string admin_endpoint = "tcp://127.0.0.1:7409";
  // How long to wait for ingest's answer.
  absl::Duration timeout = absl::Seconds(5);
  // CurveZMQ keys when ingest's admin endpoint is secured; disabled (plaintext) by default.
  curve::ClientOptions curve{};
  // Dead letters asked for per request (ingest answers with at most its own maximum).
  uint32_t page_size = 1000;
  // list and replay --all: stop after this many dead letters; 0: no limit.
  int64_t limit = 0;
};

// Sends one AdminRequest and returns the reply; kUnavailable when ingest does not answer within
// the timeout, kFailedPrecondition carrying ingest's error when it could not serve the request.
absl::StatusOr<v1::AdminReply> AskIngestAdmin(zmq::context_t& context,
                                              const DeadLettersOptions& options,
                                              const v1::AdminRequest& request);

// Prints dead letters: one DeadLetter JSON mapping per line, or one short line each.
void PrintDeadLetters(const v1::DeadLetterListReply& list, OutputFormat format, std::ostream& out);

// `topicwire deadletters`: its flags and help, and AskIngestAdmin() behind them.
const Command& DeadLettersCommand();

}  // namespace topicwire::cli

#endif  // TOPICWIRE_CLI_DEADLETTERS_H_
