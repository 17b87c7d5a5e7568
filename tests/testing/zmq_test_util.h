// ZeroMQ helpers for tests on real sockets.
#ifndef TOPICWIRE_TESTS_TESTING_ZMQ_TEST_UTIL_H_
#define TOPICWIRE_TESTS_TESTING_ZMQ_TEST_UTIL_H_

#include <string>

#include "zmq.hpp"

namespace topicwire::testing {

// Binds `socket` to a free TCP port on 127.0.0.1 (never a fixed port) and returns the endpoint
// to connect to, e.g. "tcp://127.0.0.1:41233". On failure the test fails and "" is returned.
std::string BindLoopback(zmq::socket_t& socket);

}  // namespace topicwire::testing

#endif  // TOPICWIRE_TESTS_TESTING_ZMQ_TEST_UTIL_H_
