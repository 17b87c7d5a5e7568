// FUZZ_CHECK: an invariant of the code under fuzzing. Unlike assert() it stays on in release
// builds, and it aborts so that libFuzzer records the input as a crash.
#ifndef TOPICWIRE_FUZZ_FUZZ_CHECK_H_
#define TOPICWIRE_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                 \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

#endif  // TOPICWIRE_FUZZ_FUZZ_CHECK_H_
