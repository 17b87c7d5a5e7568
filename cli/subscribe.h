// `topicwire subscribe`: prints the tagged articles sink publishes, optionally after replaying
// history (the ZeroMQ guide's Clone pattern).
#ifndef TOPICWIRE_CLI_SUBSCRIBE_H_
#define TOPICWIRE_CLI_SUBSCRIBE_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/command.h"
#include "cli/output.h"
#include "common/curve_keys.h"
#include "zmq.hpp"

namespace topicwire::cli {

// Where history starts: after a store sequence number, or at a time.
struct HistoryStart {
  uint64_t after_sequence = 0;
  std::optional<absl::Time> since_time{};
};

// Parses --since: a whole number is a sequence ("0" = all history), anything else must be an
// RFC 3339 time ("2025-03-27T09:00:00Z").
absl::StatusOr<HistoryStart> ParseSince(const std::string& text);

// The history endpoint by convention: the stream endpoint's port + 1 on the same host
// ("tcp://127.0.0.1:7401" -> "tcp://127.0.0.1:7402"). kInvalidArgument for endpoints without a
// numeric port.
absl::StatusOr<std::string> HistoryEndpointFor(const std::string& stream_endpoint);

struct SubscribeOptions {
  // sink's stream endpoint (a PUB); the client connects a SUB to it.
  std::string endpoint = "tcp://127.0.0.1:7401";
  // Streams to print (topic ids or "untagged"), compared exactly; empty means all.
  std::vector<std::string> topics{};
  // Stop after this many messages; 0 means no limit.
  int64_t count = 0;
  // Stop after this long without a message.
  absl::Duration idle_timeout = absl::InfiniteDuration();
  OutputFormat format = OutputFormat::kJson;
  // When set, print history from here before the live messages.
  std::optional<HistoryStart> since{};
  // sink's history endpoint; empty means HistoryEndpointFor(endpoint).
  std::string history_endpoint{};
  // How long to wait for one page of history.
  absl::Duration history_timeout = absl::Seconds(10);
  // Messages the live subscription may queue here while this process is busy (printing,
  // reading history); beyond it ZeroMQ drops and the hole is filled from history (fill_gaps).
  int receive_queue = 10000;
  // Fill a hole in a live stream (the stream socket dropped messages because this subscriber
  // fell behind) from history, and report it to sink (HistoryRequest.gap) so that its metrics
  // count it. Without a reachable history endpoint the hole is reported on stderr only.
  bool fill_gaps = true;
  // CurveZMQ keys for the stream and history endpoints; disabled (plaintext) by default.
  curve::ClientOptions curve{};
  // When set, the position file: read at start to continue after the last message a previous
  // run printed (history fills the time in between), and rewritten as messages are printed.
  std::string resume_file{};
};

struct SubscribeResult {
  int64_t printed = 0;
  bool count_reached = false;
  bool idle_timed_out = false;
  bool interrupted = false;
  // Holes found in live streams (the stream socket dropped messages for this subscriber) and
  // the messages they covered, summed over streams.
  int64_t gaps = 0;
  int64_t gap_messages = 0;
  // Of gap_messages, those printed from history.
  int64_t gap_messages_filled = 0;
  // Messages skipped for good: stream_sequence jumps that history did not fill.
  int64_t missed = 0;
};

// Prints messages to `out` (only messages: one per line) and gaps and warnings to `err`, until
// the count is reached, the idle timeout passes, or `shutdown_fd` (-1: none) becomes readable.
absl::StatusOr<SubscribeResult> Subscribe(zmq::context_t& context, const SubscribeOptions& options,
                                          int shutdown_fd, std::ostream& out, std::ostream& err);

// 0 when the count was reached, on interruption, or when the idle timeout passed after at least
// one message (and without a count); 1 when the idle timeout passed before what was asked for.
int SubscribeExitCode(const SubscribeOptions& options, const SubscribeResult& result);

// One line for stderr when the live stream had holes ("" when it had none).
std::string GapSummary(const SubscribeResult& result);

// `topicwire subscribe`: its flags and help, and Subscribe() behind them.
const Command& SubscribeCommand();

}  // namespace topicwire::cli

#endif  // TOPICWIRE_CLI_SUBSCRIBE_H_
