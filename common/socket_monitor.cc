#include "common/socket_monitor.h"

#include <atomic>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/zmq_channel.h"

namespace topicwire {

absl::StatusOr<SocketMonitor> SocketMonitor::Start(zmq::context_t& context, zmq::socket_t& socket,
                                                   int events) {
  // Every monitor of the process needs its own inproc address.
  static std::atomic<int> next_monitor{0};
  const std::string address = absl::StrCat("inproc://topicwire-monitor-", next_monitor++);
  // The C API reports errors by return value; cppzmq's monitor_t would also run the loop.
  if (zmq_socket_monitor(socket.handle(), address.c_str(), events) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot monitor a socket: ", zmq_strerror(zmq_errno())));
  }
  zmq::socket_t monitor(context, zmq::socket_type::pair);
  RETURN_IF_ERROR(ConfigureSocket(monitor, /*linger_ms=*/0));
  RETURN_IF_ERROR(Connect(monitor, address));
  return SocketMonitor(std::move(monitor));
}

absl::StatusOr<SocketMonitor> SocketMonitor::WatchConnections(zmq::context_t& context,
                                                              zmq::socket_t& socket,
                                                              const std::string& endpoint) {
  if (absl::StartsWith(endpoint, "inproc://")) return SocketMonitor();
  return Start(context, socket, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED);
}

absl::StatusOr<std::vector<SocketEvent>> SocketMonitor::Drain() {
  std::vector<SocketEvent> events;
  if (!watching()) return events;
  while (true) {
    Frames frames;
    ASSIGN_OR_RETURN(bool got, RecvFrames(monitor_, frames, /*dont_wait=*/true));
    if (!got) return events;
    // Monitor events: [uint16 event, uint32 value][endpoint].
    if (frames.empty() || frames[0].size() < sizeof(uint16_t) + sizeof(uint32_t)) continue;
    SocketEvent event;
    std::memcpy(&event.event, frames[0].data(), sizeof(event.event));
    std::memcpy(&event.value, static_cast<const char*>(frames[0].data()) + sizeof(event.event),
                sizeof(event.value));
    if (frames.size() > 1) event.endpoint = frames[1].to_string();
    events.push_back(std::move(event));
  }
}

absl::Status SocketMonitor::DrainConnectionEvents(
    absl::FunctionRef<void(bool connected)> on_connection) {
  ASSIGN_OR_RETURN(std::vector<SocketEvent> events, Drain());
  for (const SocketEvent& event : events) {
    if (event.event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) on_connection(true);
    if (event.event == ZMQ_EVENT_DISCONNECTED) on_connection(false);
  }
  return absl::OkStatus();
}

}  // namespace topicwire
