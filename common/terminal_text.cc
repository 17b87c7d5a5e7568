#include "common/terminal_text.h"

#include <cstdint>

#include "absl/strings/str_format.h"

namespace topicwire {
namespace {

// The length of the well-formed UTF-8 sequence at the start of `text` (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), with its code point; 0 when there is none.
size_t DecodeUtf8(absl::string_view text, uint32_t& code_point) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto continuation = [&](size_t i) { return i < text.size() && (byte(i) & 0xC0) == 0x80; };
  const unsigned char lead = byte(0);
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  }
  size_t length;
  uint32_t minimum;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, minimum = 0x80, code_point = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, minimum = 0x800, code_point = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, minimum = 0x10000, code_point = lead & 0x07;
  } else {
    return 0;
  }
  for (size_t i = 1; i < length; ++i) {
    if (!continuation(i)) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3F);
  }
  if (code_point < minimum || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return 0;
  }
  return length;
}

bool IsC1OrBidiControl(uint32_t code_point) {
  return (code_point >= 0x80 && code_point <= 0x9F) ||
         (code_point >= 0x202A && code_point <= 0x202E) ||
         (code_point >= 0x2066 && code_point <= 0x2069);
}

}  // namespace

std::string TerminalSafe(absl::string_view text) {
  std::string safe;
  safe.reserve(text.size());
  while (!text.empty()) {
    uint32_t code_point = 0;
    const size_t length = DecodeUtf8(text, code_point);
    if (length == 0) {
      absl::StrAppendFormat(&safe, "\\x%02x", static_cast<unsigned char>(text[0]));
      text.remove_prefix(1);
      continue;
    }
    if (code_point == '\t' || code_point == '\n' || code_point == '\r') {
      safe += ' ';
    } else if (code_point < 0x20 || code_point == 0x7F) {
      absl::StrAppendFormat(&safe, "\\x%02x", code_point);
    } else if (IsC1OrBidiControl(code_point)) {
      absl::StrAppendFormat(&safe, "\\u%04x", code_point);
    } else {
      safe.append(text.data(), length);
    }
    text.remove_prefix(length);
  }
  return safe;
}

}  // namespace topicwire
