// `attn plot` in-process: exit codes, the SVG written atomically where -o says.
#include <doctest/doctest.h>

#include <string>

#include "commands.h"
#include "test_helpers.h"

using attn::cli::dispatch;

TEST_CASE("attn plot: a log in, an SVG out; missing or foreign files exit 1, usage errors 2") {
  attn::testing::temp_dir d;
  const std::string log =
      d.write("run.csv",
              "step,epoch,loss,lr,tokens,tokens_per_s,grad_norm,perplexity,accuracy,bits_per_byte,split\n"
              "1,0,3.5,0.001,256,6380.1,2.07,,,,train\n2,0,3.25,0.001,288,8386.1,1.9,,,,train\n"
              "2,0,3.0,,900,,,20.1,0.25,,valid\n");
  const std::string svg = d.path("curves.svg");
  CHECK(dispatch({"plot", log, "-o", svg}) == 0);
  const std::string text = attn::testing::read_file(svg);
  CHECK(text.find("<svg") != std::string::npos);
  CHECK(text.find(">run.csv</text>") == std::string::npos);  // labelled as the user wrote the path
  CHECK(text.find(">" + log + "</text>") != std::string::npos);
  CHECK(d.names() == std::vector<std::string>{"curves.svg", "run.csv"});  // no temporary file left
  CHECK(dispatch({"plot", d.path("missing.csv"), "-o", svg}) == 1);
  CHECK(dispatch({"plot", d.write("other.csv", "a,b\n1,2\n"), "-o", svg}) == 1);
  CHECK(attn::testing::read_file(svg) == text);  // a failed run leaves the old picture
  CHECK(dispatch({"plot", "-o", svg}) == 2);
  CHECK(dispatch({"plot", log, "--smooth", "1", "-o", svg}) == 2);
  CHECK(dispatch({"plot", log, "-o", log}) == 2);  // never over its own input
  CHECK(dispatch({"plot", "--help"}) == 0);
}
