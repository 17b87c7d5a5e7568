// The framing the multi-message fuzz targets use to cut one input into ZeroMQ-like frames:
// repeated [2-byte little-endian length][that many bytes]. A short tail is the last frame.
// fuzz/make_seed_corpus.cc writes seeds in the same layout.
#ifndef TOPICWIRE_FUZZ_FRAMES_H_
#define TOPICWIRE_FUZZ_FRAMES_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace topicwire::fuzz {

inline std::vector<absl::string_view> SplitFrames(absl::string_view input, size_t max_frames) {
  std::vector<absl::string_view> frames;
  while (!input.empty() && frames.size() < max_frames) {
    if (input.size() < 2) {
      frames.push_back(input);
      break;
    }
    const size_t length = static_cast<uint8_t>(input[0]) | (static_cast<uint8_t>(input[1]) << 8);
    input.remove_prefix(2);
    const size_t taken = std::min(length, input.size());
    frames.push_back(input.substr(0, taken));
    input.remove_prefix(taken);
  }
  return frames;
}

inline void AppendFrame(std::string& out, absl::string_view frame) {
  out.push_back(static_cast<char>(frame.size() & 0xff));
  out.push_back(static_cast<char>((frame.size() >> 8) & 0xff));
  out.append(frame.data(), frame.size());
}

}  // namespace topicwire::fuzz

#endif  // TOPICWIRE_FUZZ_FRAMES_H_
