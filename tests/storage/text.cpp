// repair_utf8: what reaches a text column.

#include "storage/text.hpp"

#include <catch2/catch.hpp>

using keepa::db::repair_utf8;

namespace {

/// `x` repaired (and whether anything changed).
std::pair<std::string, bool> repaired(std::string x) {
  auto changed = repair_utf8(x);
  return {x, changed};
}

const std::string fffd = "\xEF\xBF\xBD";

} // namespace

TEST_CASE("valid UTF-8 is left alone", "[storage][text]") {
  for (std::string x : {"", "Harry Potter", "Caf\xC3\xA9 \xE2\x82\xAC 5",
                        "\xF0\x9F\x93\x9A books", "\xF4\x8F\xBF\xBF"})
    CHECK(repaired(x) == std::pair<std::string, bool>(x, false));
}

TEST_CASE("each byte starting no valid sequence becomes U+FFFD",
          "[storage][text]") {
  // A Latin-1 byte, a stray continuation byte, a truncated sequence at the
  // end, an overlong '/', a surrogate, a code point above U+10FFFF.
  CHECK(repaired("Caf\xE9!")
        == std::pair<std::string, bool>("Caf" + fffd + "!", true));
  CHECK(repaired("a\x80"
                 "b")
        == std::pair<std::string, bool>("a" + fffd + "b", true));
  CHECK(repaired("euro \xE2\x82")
        == std::pair<std::string, bool>("euro " + fffd + fffd, true));
  CHECK(repaired("\xC0\xAF")
        == std::pair<std::string, bool>(fffd + fffd, true));
  CHECK(repaired("\xED\xA0\x80")
        == std::pair<std::string, bool>(fffd + fffd + fffd, true));
  CHECK(repaired("\xF4\x90\x80\x80")
        == std::pair<std::string, bool>(fffd + fffd + fffd + fffd, true));
  // What follows a bad byte is decoded afresh.
  CHECK(repaired("\xE2(\xC3\xA9")
        == std::pair<std::string, bool>(fffd + "(\xC3\xA9", true));
}

TEST_CASE("NUL bytes are dropped", "[storage][text]") {
  CHECK(repaired(std::string{"a\0b\0", 4})
        == std::pair<std::string, bool>("ab", true));
}
