#include "common/zmq_channel.h"

#include <chrono>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

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

// cppzmq takes std::string_view, which Debian's Abseil does not alias.
std::string_view View(absl::string_view text) { return std::string_view(text.data(), text.size()); }

// Sets one option through cppzmq's typed tags; `what` names it in the error.
template <typename Option, typename Value>
absl::Status SetOption(zmq::socket_t& socket, Option option, const Value& value,
                       absl::string_view what) {
  try {
    socket.set(option, value);
  } catch (const zmq::error_t& e) {
    // EINVAL is a value libzmq does not take (or an option the socket type lacks): the caller's
    // configuration, not the network.
    if (e.num() == EINVAL) {
      return absl::InvalidArgumentError(absl::StrCat("cannot set ", what, ": ", e.what()));
    }
    return FromZmqError(e, absl::StrCat("cannot set ", what));
  }
  return absl::OkStatus();
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

absl::Status SetMaxMessageSize(zmq::socket_t& socket, int64_t bytes) {
  return SetOption(socket, zmq::sockopt::maxmsgsize, bytes,
                   absl::StrCat("ZMQ_MAXMSGSIZE to ", bytes, " bytes"));
}

absl::Status SetSendHighWaterMark(zmq::socket_t& socket, int messages) {
  return SetOption(socket, zmq::sockopt::sndhwm, messages,
                   absl::StrCat("ZMQ_SNDHWM to ", messages, " messages"));
}

absl::Status SetReceiveHighWaterMark(zmq::socket_t& socket, int messages) {
  return SetOption(socket, zmq::sockopt::rcvhwm, messages,
                   absl::StrCat("ZMQ_RCVHWM to ", messages, " messages"));
}

absl::Status SetImmediate(zmq::socket_t& socket, bool immediate) {
  return SetOption(socket, zmq::sockopt::immediate, immediate, "ZMQ_IMMEDIATE");
}

absl::Status SetRouterMandatory(zmq::socket_t& socket, bool mandatory) {
  return SetOption(socket, zmq::sockopt::router_mandatory, mandatory, "ZMQ_ROUTER_MANDATORY");
}

absl::Status AddSubscription(zmq::socket_t& socket, absl::string_view prefix) {
  return SetOption(socket, zmq::sockopt::subscribe, View(prefix), "a subscription (ZMQ_SUBSCRIBE)");
}

absl::Status SetCurveServer(zmq::socket_t& socket, absl::string_view secret_key,
                            absl::string_view zap_domain) {
  RETURN_IF_ERROR(SetOption(socket, zmq::sockopt::curve_server, true, "CURVE server"));
  RETURN_IF_ERROR(SetOption(socket, zmq::sockopt::curve_secretkey, View(secret_key),
                            "the server's CURVE secret key"));
  return SetOption(socket, zmq::sockopt::zap_domain, View(zap_domain), "the ZAP domain");
}

absl::Status SetCurveClient(zmq::socket_t& socket, absl::string_view server_public_key,
                            absl::string_view public_key, absl::string_view secret_key) {
  RETURN_IF_ERROR(SetOption(socket, zmq::sockopt::curve_serverkey, View(server_public_key),
                            "the server's CURVE public key"));
  RETURN_IF_ERROR(SetOption(socket, zmq::sockopt::curve_publickey, View(public_key),
                            "the client's public key"));
  return SetOption(socket, zmq::sockopt::curve_secretkey, View(secret_key),
                   "the client's secret key");
}

absl::Status Bind(zmq::socket_t& socket, const std::string& endpoint) {
  try {
    socket.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return FromZmqError(
        e, absl::StrCat("cannot bind ", endpoint, " (is the port in use or the address wrong?)"));
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

absl::StatusOr<size_t> RecvFramesUpTo(zmq::socket_t& socket, Frames& frames, size_t max_frames,
                                      bool dont_wait) {
  frames.clear();
  size_t count = 0;
  try {
    bool more = true;
    while (more) {
      zmq::message_t frame;
      const auto flags =
          dont_wait && count == 0 ? zmq::recv_flags::dontwait : zmq::recv_flags::none;
      if (!socket.recv(frame, flags)) return 0;  // only possible before the first frame
      ++count;
      more = frame.more();
      if (frames.size() < max_frames) frames.push_back(std::move(frame));
    }
  } catch (const zmq::error_t& e) {
    frames.clear();
    return FromZmqError(e, "receive");
  }
  return count;
}

absl::Status SendFrames(zmq::socket_t& socket, Frames& frames, bool dont_wait) {
  try {
    for (size_t i = 0; i < frames.size(); ++i) {
      zmq::send_flags flags =
          i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
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
    return absl::InvalidArgumentError(
        absl::StrCat("frame of ", frame.size(), " bytes is not a valid ", message.GetTypeName()));
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
