// Quiets the libraries' own logging in the fuzz targets: protobuf and spdlog would print a line
// for most malformed inputs, which slows fuzzing down and buries the report of a real crash.
#ifndef TOPICWIRE_FUZZ_FUZZ_INIT_H_
#define TOPICWIRE_FUZZ_FUZZ_INIT_H_

#include "google/protobuf/stubs/logging.h"
#include "spdlog/spdlog.h"

namespace topicwire::fuzz {

inline void QuietLogging() {
  google::protobuf::SetLogHandler(nullptr);
  spdlog::set_level(spdlog::level::off);
}

}  // namespace topicwire::fuzz

// libFuzzer calls this once before the first input.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  topicwire::fuzz::QuietLogging();
  return 0;
}

#endif  // TOPICWIRE_FUZZ_FUZZ_INIT_H_
