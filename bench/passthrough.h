// The passthrough limit: the pipeline's topology (publisher -> ingest -> worker -> sink ->
// subscriber, with the reply to the publisher and sink's commit back to ingest) over the same
// ZeroMQ socket types on loopback TCP, with the same protobuf encode/decode at every hop, but
// no validation, journal, tagging or store. What the transport alone allows on this machine.
#ifndef TOPICWIRE_BENCH_PASSTHROUGH_H_
#define TOPICWIRE_BENCH_PASSTHROUGH_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "zmq.hpp"

namespace topicwire::bench {

// Three threads standing in for ingest, one worker and sink, bound on 127.0.0.1 ports picked
// by the OS. Stops and joins its threads when destroyed.
class Passthrough {
 public:
  static absl::StatusOr<std::unique_ptr<Passthrough>> Start(zmq::context_t& context);
  virtual ~Passthrough() = default;

  virtual const std::string& publish_endpoint() const = 0;
  virtual const std::string& stream_endpoint() const = 0;
};

}  // namespace topicwire::bench

#endif  // TOPICWIRE_BENCH_PASSTHROUGH_H_
