#include "tests/testing/zmq_test_util.h"

#include "absl/status/statusor.h"
#include "common/zmq_channel.h"
#include "gtest/gtest.h"

namespace topicwire::testing {

std::string BindLoopback(zmq::socket_t& socket) {
  if (absl::Status bound = Bind(socket, "tcp://127.0.0.1:*"); !bound.ok()) {
    ADD_FAILURE() << bound.ToString();
    return "";
  }
  absl::StatusOr<std::string> endpoint = LastEndpoint(socket);
  if (!endpoint.ok()) {
    ADD_FAILURE() << endpoint.status().ToString();
    return "";
  }
  return *endpoint;
}

}  // namespace topicwire::testing
