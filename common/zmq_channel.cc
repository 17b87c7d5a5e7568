#include "common/zmq_channel.h"

#include <chrono>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace topicwire {
namespace {

absl::Status FromZmqError(const zmq::error_t& e, absl::string_view what) {
  switch (e.num()) {
    case ETERM:
      return absl::CancelledError(absl::StrCat(what, ": context terminated"));
    case EAGAIN:
      return absl::ResourceExhaustedError(absl::StrCat(what, ": queue full (high-water mark)"));
    case EHOSTUNREACH:
      return absl::NotFoundError(absl::StrCat(what, ": peer is gone"));
    default:
      return absl::UnavailableError(absl::StrCat(what, ": ", e.what()));
  }
}

}  // namespace

absl::Status ConfigureSocket(zmq::socket_t& socket, int linger_ms) {
  try {
    socket.set(zmq::sockopt::linger, linger_ms);
    socket.set(zmq::sockopt::maxmsgsize, kMaxFrameBytes);
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "configuring socket");
  }
  return absl::OkStatus();
}

absl::Status Bind(zmq::socket_t& socket, const std::string& endpoint) {
  try {
    socket.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, absl::StrCat("cannot bind ", endpoint,
                                        " (is the port in use or the address wrong?)"));
  }
  return absl::OkStatus();
}

absl::Status Connect(zmq::socket_t& socket, const std::string& endpoint) {
  try {
    socket.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, absl::StrCat("cannot connect to ", endpoint));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LastEndpoint(zmq::socket_t& socket) {
  try {
    return socket.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "reading last endpoint");
  }
}

absl::StatusOr<bool> RecvFrames(zmq::socket_t& socket, Frames& frames, bool dont_wait) {
  frames.clear();
  try {
    do {
      zmq::message_t frame;
      const auto flags =
          dont_wait && frames.empty() ? zmq::recv_flags::dontwait : zmq::recv_flags::none;
      if (!socket.recv(frame, flags)) return false;  // only possible before the first frame
      frames.push_back(std::move(frame));
    } while (frames.back().more());
  } catch (const zmq::error_t& e) {
    frames.clear();
    return FromZmqError(e, "receive");
  }
  return true;
}

absl::Status SendFrames(zmq::socket_t& socket, Frames& frames, bool dont_wait) {
  try {
    for (size_t i = 0; i < frames.size(); ++i) {
      zmq::send_flags flags = i + 1 < frames.size() ? zmq::send_flags::sndmore
                                                    : zmq::send_flags::none;
      if (dont_wait) flags = flags | zmq::send_flags::dontwait;
      if (!socket.send(frames[i], flags)) {
        // Only the first frame can fail with EAGAIN: once it is queued, the rest follow.
        return absl::ResourceExhaustedError("send: queue full (high-water mark)");
      }
    }
  } catch (const zmq::error_t& e) {
    return FromZmqError(e, "send");
  }
  frames.clear();
  return absl::OkStatus();
}

zmq::message_t ToFrame(const google::protobuf::MessageLite& message) {
  return ToFrameAfter({}, message);
}

zmq::message_t ToFrameAfter(absl::string_view prefix,
                            const google::protobuf::MessageLite& message) {
  zmq::message_t frame(prefix.size() + message.ByteSizeLong());
  uint8_t* data = static_cast<uint8_t*>(frame.data());
  if (!prefix.empty()) std::memcpy(data, prefix.data(), prefix.size());
  message.SerializeWithCachedSizesToArray(data + prefix.size());
  return frame;
}

absl::Status ParseFrame(const zmq::message_t& frame, google::protobuf::MessageLite& message) {
  if (!message.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    return absl::InvalidArgumentError(absl::StrCat("frame of ", frame.size(),
                                                   " bytes is not a valid ",
                                                   message.GetTypeName()));
  }
  return absl::OkStatus();
}

absl::Status SendProto(zmq::socket_t& socket, const google::protobuf::MessageLite& message,
                       bool dont_wait) {
  Frames frames;
  frames.push_back(ToFrame(message));
  return SendFrames(socket, frames, dont_wait);
}

absl::StatusOr<int> Poll(std::vector<zmq::pollitem_t>& items, absl::Duration timeout) {
  try {
    const std::chrono::milliseconds ms =
        timeout == absl::InfiniteDuration()
            ? std::chrono::milliseconds(-1)
            : std::chrono::milliseconds(std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout)));
    return zmq::poll(items.data(), items.size(), ms);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return 0;
    return FromZmqError(e, "poll");
  }
}

}  // namespace topicwire
