// The one adapter between our Status-returning code and cppzmq, which throws. Only
// zmq_channel.cc catches zmq::error_t; everything else sees absl::Status codes:
//   kCancelled          the context was terminated (ETERM): stop quietly
//   kResourceExhausted  a non-blocking send hit the high-water mark (EAGAIN): try later
//   kNotFound           a ROUTER_MANDATORY send named a peer that is gone (EHOSTUNREACH)
//   kUnavailable        anything else (bind/connect failures name the endpoint)
#ifndef TOPICWIRE_COMMON_ZMQ_CHANNEL_H_
#define TOPICWIRE_COMMON_ZMQ_CHANNEL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "zmq.hpp"

namespace topicwire {

// A multipart ZeroMQ message, frame by frame.
using Frames = std::vector<zmq::message_t>;

// Socket-level cap on any incoming frame. Far above every application limit (1 MiB articles by
// default), because libzmq drops a frame over ZMQ_MAXMSGSIZE with a silent disconnect: the
// application limits are the ones that answer with a reason.
inline constexpr int64_t kMaxFrameBytes = int64_t{64} << 20;

// Applies the options every topicwire socket shares: bounded linger, the frame-size cap.
absl::Status ConfigureSocket(zmq::socket_t& socket, int linger_ms);

// Typed socket options, the only way topicwire code sets one. Each returns kInvalidArgument
// naming the option when libzmq refuses the value, kCancelled after the context terminated.
// REQUIRES: called on the thread that owns `socket`; most options act only before bind/connect.

// Caps what one incoming frame may hold; a larger frame disconnects its peer (ZMQ_MAXMSGSIZE).
absl::Status SetMaxMessageSize(zmq::socket_t& socket, int64_t bytes);
// How many messages queue for sending / receiving before the socket blocks or drops (0: no
// limit).
absl::Status SetSendHighWaterMark(zmq::socket_t& socket, int messages);
absl::Status SetReceiveHighWaterMark(zmq::socket_t& socket, int messages);
// Queue outgoing messages only on completed connections (ZMQ_IMMEDIATE).
absl::Status SetImmediate(zmq::socket_t& socket, bool immediate);
// A ROUTER send to an unknown peer fails with kNotFound instead of dropping (ZMQ_ROUTER_MANDATORY).
absl::Status SetRouterMandatory(zmq::socket_t& socket, bool mandatory);
// Adds a SUB/XSUB subscription to messages starting with `prefix` ("" is everything).
absl::Status AddSubscription(zmq::socket_t& socket, absl::string_view prefix);
// Makes `socket` a CURVE server holding `secret_key` (Z85), authenticated in `zap_domain`.
absl::Status SetCurveServer(zmq::socket_t& socket, absl::string_view secret_key,
                            absl::string_view zap_domain);
// Makes `socket` a CURVE client of the server holding `server_public_key`, with the client's own
// key pair (all Z85).
absl::Status SetCurveClient(zmq::socket_t& socket, absl::string_view server_public_key,
                            absl::string_view public_key, absl::string_view secret_key);

absl::Status Bind(zmq::socket_t& socket, const std::string& endpoint);
absl::Status Connect(zmq::socket_t& socket, const std::string& endpoint);
// The endpoint the socket bound last, with a wildcard port resolved ("tcp://127.0.0.1:41233").
absl::StatusOr<std::string> LastEndpoint(zmq::socket_t& socket);

// Receives one whole multipart message. Returns false (and leaves `frames` empty) when
// `dont_wait` is set and nothing is queued.
absl::StatusOr<bool> RecvFrames(zmq::socket_t& socket, Frames& frames, bool dont_wait = false);
// Receives one whole multipart message but keeps only its first `max_frames` frames in `frames`;
// the others are read and dropped one by one. Returns how many frames the message had (more
// than frames.size() when some were dropped), or 0 when `dont_wait` is set and nothing is
// queued. libzmq delivers a multipart message only once all of it has arrived, so it has held
// every frame by then; this bounds what the caller holds on top. REQUIRES: max_frames >= 1.
absl::StatusOr<size_t> RecvFramesUpTo(zmq::socket_t& socket, Frames& frames, size_t max_frames,
                                      bool dont_wait = false);
// Sends `frames` as one multipart message; the frames are consumed.
absl::Status SendFrames(zmq::socket_t& socket, Frames& frames, bool dont_wait = false);

// Serializes `message` into one frame.
zmq::message_t ToFrame(const google::protobuf::MessageLite& message);
// One frame of exactly `prefix` followed by `message` serialized, written in place (no
// intermediate buffer). Protobuf parses concatenated messages as one merged message, so
// serialized fields after a serialized message read as that message with those fields set.
zmq::message_t ToFrameAfter(absl::string_view prefix, const google::protobuf::MessageLite& message);
// Parses one frame; kInvalidArgument naming the message type when the bytes do not parse.
absl::Status ParseFrame(const zmq::message_t& frame, google::protobuf::MessageLite& message);
// Sends `message` as a single-frame message.
absl::Status SendProto(zmq::socket_t& socket, const google::protobuf::MessageLite& message,
                       bool dont_wait = false);

// Waits until one of `items` is ready or `timeout` passes (absl::InfiniteDuration() waits
// forever). Returns how many items are ready.
absl::StatusOr<int> Poll(std::vector<zmq::pollitem_t>& items, absl::Duration timeout);

}  // namespace topicwire

#endif  // TOPICWIRE_COMMON_ZMQ_CHANNEL_H_
