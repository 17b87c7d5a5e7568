// Helpers shared by tests: waiting on conditions with deadlines (never sleeping for a fixed
// time), free loopback ports, temporary directories, and where the built binaries are.
#ifndef TOPICWIRE_TESTS_TESTING_TEST_UTIL_H_
#define TOPICWIRE_TESTS_TESTING_TEST_UTIL_H_

#include <functional>
#include <string>

#include "absl/time/time.h"

namespace topicwire::testing {

// Polls `condition` with a short backoff until it holds or `timeout` passes; returns whether it
// held.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout);

// A TCP port on 127.0.0.1 that nothing listens on right now (bound with port 0, then released).
int FreeLoopbackPort();
// `count` consecutive free ports; returns the first. For stages that take a base port.
int FreeLoopbackPortRange(int count);

// A fresh, empty directory under the test's temporary directory; removed by the OS' tmp cleanup.
std::string MakeTempDir();

// The whole content of the file at `path`, bytes as they are; "" when it cannot be read.
std::string ReadFile(const std::string& path);

// Directory holding the built binaries (ingest, classify, sink, topicwire). From the
// TOPICWIRE_BIN_DIR environment variable that ctest sets.
std::string BinDir();
// The source tree's root, from TOPICWIRE_SOURCE_DIR.
std::string SourceDir();

// The labelled development set (research-use data kept outside the repository):
// $TOPICWIRE_DEV_SET, else ../shared/data/dev.jsonl beside the checkout. Tests skip when it is not
// there.
std::string DevSetPath();

// The labelled news development set beside it: $TOPICWIRE_DEV_NEWS_SET, else
// ../shared/data/dev-news.jsonl beside the checkout. Tests skip when it is not there.
std::string DevNewsSetPath();

}  // namespace topicwire::testing

#endif  // TOPICWIRE_TESTS_TESTING_TEST_UTIL_H_
