// attn::error: the whole message reaches what(), a NUL byte in it included (as \x00).
#include <doctest/doctest.h>

#include <string>

#include "core/error.h"

using namespace attn;

TEST_CASE("a NUL byte in an error message is shown as \\x00 and the message goes on") {
  const std::string quoted = std::string("label 'pos") + '\0' + "itive' does not occur";
  CHECK(std::string(error(quoted).what()) == "label 'pos\\x00itive' does not occur");
  CHECK(std::string(error(std::string(2, '\0')).what()) == "\\x00\\x00");
  CHECK(std::string(error("plain").what()) == "plain");
  CHECK(without_nul("no nul") == "no nul");
}
