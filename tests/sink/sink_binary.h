// The real `sink` binary as a child process on free loopback ports, for the tests that need the
// process itself (memory, exit, restart), with the helpers those tests share.
#ifndef TOPICWIRE_TESTS_SINK_SINK_BINARY_H_
#define TOPICWIRE_TESTS_SINK_SINK_BINARY_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/subprocess.h"
#include "proto/internal.pb.h"

namespace topicwire::sink::testing {

// A memory figure of process `pid` in KiB from /proc/<pid>/status ("VmRSS": resident now,
// "VmHWM": the most it was ever resident); -1 when unreadable.
int64_t StatusKib(pid_t pid, const std::string& field);

// True in a build with AddressSanitizer, where RSS says nothing about what a process holds.
bool UnderAddressSanitizer();

// A Delivery of article `id` on `topics`, its body `body_bytes` long.
v1::Delivery MakeDelivery(uint64_t journal_seq, const std::string& id,
                          const std::vector<std::string>& topics, size_t body_bytes = 0);

// bin/sink with its store in `dir`, bound to free loopback ports, acknowledging to
// `commit_endpoint`, serving /readyz and /metrics on a free port.
class SinkBinary {
 public:
  // Starts sink with `extra_flags` appended; the ports are chosen once, so Restart() reuses
  // them.
  static absl::StatusOr<std::unique_ptr<SinkBinary>> Start(
      const std::string& dir, const std::string& commit_endpoint,
      const std::vector<std::string>& extra_flags = {});

  // Starts the binary again on the same ports and store (after it exited or was killed).
  absl::Status Restart(const std::vector<std::string>& extra_flags = {});

  std::string input_endpoint() const;
  std::string stream_endpoint() const;
  std::string history_endpoint() const;
  const std::string& store_path() const { return store_path_; }
  Subprocess& process() { return *process_; }

  // The body of GET `path` on sink's HTTP endpoint, with its status line first; an error when
  // nothing answers.
  absl::StatusOr<std::string> HttpGet(const std::string& path) const;
  // The value of the unlabelled metric `name` (or the sum over its series); -1 when unreadable.
  double Metric(const std::string& name) const;
  // The tail of sink's log, for failure messages.
  std::string LogTail() const;

 private:
  SinkBinary(std::string dir, std::string commit_endpoint, int base_port);

  std::string dir_;
  std::string commit_endpoint_;
  std::string store_path_;
  int base_port_;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace topicwire::sink::testing

#endif  // TOPICWIRE_TESTS_SINK_SINK_BINARY_H_
