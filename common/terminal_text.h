// Text from publishers, made safe to print on a terminal.
#ifndef TOPICWIRE_COMMON_TERMINAL_TEXT_H_
#define TOPICWIRE_COMMON_TERMINAL_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace topicwire {

// `text` with everything a terminal would act on instead of showing made visible, so an article
// cannot move the cursor, recolour or clear the screen, retitle the window or reorder what is
// shown: tab, line feed and carriage return become a space (the output is one line); every
// other C0 control and DEL becomes `\xHH`; C1 controls (U+0080 to U+009F, which some terminals
// obey like ESC sequences) and the bidirectional overrides and isolates (U+202A to U+202E,
// U+2066 to U+2069) become `\uHHHH`; a byte that is not valid UTF-8 becomes `\xHH`. All other
// text, Chinese included, is kept as it is.
std::string TerminalSafe(absl::string_view text);

}  // namespace topicwire

#endif  // TOPICWIRE_COMMON_TERMINAL_TEXT_H_
