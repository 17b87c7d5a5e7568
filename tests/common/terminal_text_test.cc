// TerminalSafe: what a terminal would obey is shown instead; all other text stays as it is.
#include "common/terminal_text.h"

#include "tests/testing/prelude.h"

namespace topicwire {
namespace {

TEST(TerminalSafeTest, PlainTextInEveryScriptIsKept) {
  EXPECT_EQ(TerminalSafe("Quantum chips, 量子芯片, 量子晶片 (50% \"faster\") \\ ok"),
            "Quantum chips, 量子芯片, 量子晶片 (50% \"faster\") \\ ok");
  EXPECT_EQ(TerminalSafe(""), "");
}

TEST(TerminalSafeTest, LineBreaksAndTabsBecomeSpaces) {
  EXPECT_EQ(TerminalSafe("one\ntwo\r\nthree\tfour"), "one two  three four");
}

TEST(TerminalSafeTest, ControlCharactersAndEscapeSequencesAreShown) {
  EXPECT_EQ(TerminalSafe("\x1b[2J\x1b]0;owned\x07"), "\\x1b[2J\\x1b]0;owned\\x07");
  EXPECT_EQ(TerminalSafe(std::string("a\0b\x7f", 4)), "a\\x00b\\x7f");
}

TEST(TerminalSafeTest, C1ControlsAndBidiOverridesAreShown) {
  EXPECT_EQ(TerminalSafe("\xc2\x9b"
                         "31m"),
            "\\u009b31m");  // one-byte CSI
  EXPECT_EQ(TerminalSafe("\xe2\x80\xae"
                         "gnp.exe"),
            "\\u202egnp.exe");  // right-to-left override
  EXPECT_EQ(TerminalSafe("\xe2\x81\xa6x\xe2\x81\xa9"), "\\u2066x\\u2069");
  EXPECT_EQ(TerminalSafe("\xc2\xa0"), "\xc2\xa0");  // no-break space is text
}

TEST(TerminalSafeTest, BytesThatAreNotUtf8AreShown) {
  EXPECT_EQ(TerminalSafe("ok\xff"), "ok\\xff");
  EXPECT_EQ(TerminalSafe("\xe9\x87"), "\\xe9\\x87");           // cut short
  EXPECT_EQ(TerminalSafe("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(TerminalSafe("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
}

}  // namespace
}  // namespace topicwire
