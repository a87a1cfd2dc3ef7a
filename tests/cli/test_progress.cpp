// lines_progress and counted_input (cli/progress.h): the progress line of tokenize, decode,
// attention and eval.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "options.h"
#include "progress.h"

using attn::cli::counted_input;
using attn::cli::lines_progress;
using std::chrono::milliseconds;

TEST_CASE("the progress text: lines and lines per second") {
  CHECK(lines_progress::text("decode", 1200, 2.0) == "attn decode: 1200 lines, 600 lines/s");
  CHECK(lines_progress::text("eval", 5, 0.0) == "attn eval: 5 lines");
  CHECK(lines_progress::text("eval", 30, 3.0, "examples") == "attn eval: 30 examples, 10 examples/s");
}

TEST_CASE("shown after 1 s, at most every 250 ms, one line rewritten with \\r and cleared at the end") {
  std::ostringstream out;
  const auto t0 = lines_progress::clock::now();
  {
    lines_progress p("decode", true, out, t0);
    p.update(10, t0 + milliseconds(500));
    CHECK(out.str().empty());  // a short run shows nothing
    p.update(100, t0 + milliseconds(1000));
    CHECK(out.str() == "\rattn decode: 100 lines, 100 lines/s\x1b[K");
    p.update(150, t0 + milliseconds(1100));  // throttled
    p.update(200, t0 + milliseconds(1249));
    CHECK(out.str().find("150") == std::string::npos);
    CHECK(out.str().find("200") == std::string::npos);
    p.update(250, t0 + milliseconds(1250));
    CHECK(out.str().find("\rattn decode: 250 lines, 200 lines/s\x1b[K") != std::string::npos);
    CHECK(out.str().find('\n') == std::string::npos);
    p.done();
    CHECK(out.str().substr(out.str().size() - 4) == "\r\x1b[K");
    const std::size_t before = out.str().size();
    p.done();  // nothing left to clear
    CHECK(out.str().size() == before);
  }
  std::ostringstream cleared;
  {
    lines_progress p("attention", true, cleared, t0);
    p.update(3, t0 + milliseconds(2000));
  }  // an error unwinding past it still clears the line
  CHECK(cleared.str().substr(cleared.str().size() - 4) == "\r\x1b[K");
}

TEST_CASE("not shown (stderr not a terminal, or -q): nothing is written and the callback is empty") {
  std::ostringstream out;
  const auto t0 = lines_progress::clock::now();
  lines_progress p("tokenize", false, out, t0);
  p.update(1000, t0 + milliseconds(5000));
  p.done();
  CHECK(out.str().empty());
  CHECK_FALSE(p.callback());
  lines_progress on("tokenize", true, out, t0);
  CHECK(static_cast<bool>(on.callback()));
}

TEST_CASE("show_lines_progress: never with -q; never with stderr off a terminal (as under ctest)") {
  CHECK_FALSE(attn::cli::show_lines_progress(true, "out.txt"));
  if (!attn::cli::stderr_is_terminal()) CHECK_FALSE(attn::cli::show_lines_progress(false, "out.txt"));
}

TEST_CASE("counted_input passes the bytes through unchanged and counts the lines read") {
  std::ostringstream shown;
  lines_progress p("tokenize", true, shown, lines_progress::clock::now() - milliseconds(5000));
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "line " + std::to_string(i) + "\n";
  text += "last, no newline";
  std::istringstream in(text);
  counted_input counted(in, p);
  std::ostringstream copy;
  copy << counted.stream().rdbuf();
  CHECK(copy.str() == text);
  // The first block (64 KiB) is drawn at once (the start is 5 s back), later ones throttled.
  const std::string& s = shown.str();
  REQUIRE(s.rfind("\rattn tokenize: ", 0) == 0);
  const long first = std::stol(s.substr(16));
  CHECK(first > 1000);  // 64 KiB of ~12-byte lines
  CHECK(first < 10000);
}
