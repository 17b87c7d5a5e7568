// A ZeroMQ socket monitor (zmq_socket_monitor): a socket's connection events (handshakes,
// disconnects, failed handshakes), read without blocking from an inproc PAIR socket that a poll
// loop can wait on. Note that inproc:// connections emit no events at all.
#ifndef TOPICWIRE_COMMON_SOCKET_MONITOR_H_
#define TOPICWIRE_COMMON_SOCKET_MONITOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "zmq.hpp"

namespace topicwire {

// One monitor event.
struct SocketEvent {
  uint16_t event = 0;  // ZMQ_EVENT_*
  uint32_t value = 0;  // the event's value (an errno, a ZMQ_PROTOCOL_ERROR_*, an fd, ...)
  std::string endpoint{};
};

class SocketMonitor {
 public:
  // A monitor that watches nothing: handle() is null and Drain() returns no events.
  SocketMonitor() = default;
  SocketMonitor(SocketMonitor&&) = default;
  SocketMonitor& operator=(SocketMonitor&&) = default;

  // Starts reporting the `events` (a mask of ZMQ_EVENT_*) of `socket`. kUnavailable when libzmq
  // refuses. REQUIRES: called on the thread that owns `socket`; the monitor is closed before
  // `socket` (declare it after the socket). The monitor itself may move to another thread.
  static absl::StatusOr<SocketMonitor> Start(zmq::context_t& context, zmq::socket_t& socket,
                                             int events);

  // Starts reporting the handshakes and disconnects of `socket`, which connects to `endpoint`,
  // for DrainConnectionEvents(). An inproc:// endpoint emits no events, so for one the monitor
  // watches nothing. Same requirements as Start().
  static absl::StatusOr<SocketMonitor> WatchConnections(zmq::context_t& context,
                                                        zmq::socket_t& socket,
                                                        const std::string& endpoint);

  // Whether this monitor watches a socket.
  bool watching() const { return monitor_.handle() != nullptr; }
  // The PAIR socket to poll for ZMQ_POLLIN; null when not watching.
  void* handle() { return monitor_.handle(); }

  // The events queued so far, oldest first; returns at once.
  absl::StatusOr<std::vector<SocketEvent>> Drain();

  // Drains the queued events and reports each completed handshake (true) and disconnect (false)
  // to `on_connection`, oldest first; other events are skipped. For a monitor from
  // WatchConnections() (or started with ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED).
  absl::Status DrainConnectionEvents(absl::FunctionRef<void(bool connected)> on_connection);

 private:
  explicit SocketMonitor(zmq::socket_t monitor) : monitor_(std::move(monitor)) {}

  zmq::socket_t monitor_;
};

}  // namespace topicwire

#endif  // TOPICWIRE_COMMON_SOCKET_MONITOR_H_
