// read_training_log: attn train --log CSVs back into series.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "core/error.h"
#include "viz/training_log.h"

using namespace attn;

namespace {

const char* const header = "step,epoch,loss,lr,tokens,tokens_per_s,grad_norm,perplexity,accuracy,bits_per_byte,split\n";

viz::training_log read(const std::string& text) {
  std::istringstream in(text);
  return viz::read_training_log(in, "run.csv");
}

std::string error_of(const std::string& text) {
  try {
    read(text);
  } catch (const error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("train rows give loss, lr and tokens/s; valid rows give the validation metrics present") {
  const auto log = read(std::string(header) +
                        "1,0,3.5,0.001,256,6380.1,2.07,,,,train\n"
                        "2,0,3.25,0.002,288,8386.1,1.9,,,,train\r\n"
                        "2,0,3.0,,900,,,20.1,0.25,,valid\n"
                        "\n"
                        "4,1,2.5,0.003,288,9000,1.8,,,,train\n"
                        "4,1,2.0,,900,,,7.4,0.5,1.5,valid\n");
  CHECK(log.label == "run.csv");
  CHECK(log.metrics.at("train loss").step == std::vector<double>{1, 2, 4});
  CHECK(log.metrics.at("train loss").value == std::vector<double>{3.5, 3.25, 2.5});
  CHECK(log.metrics.at("lr").value == std::vector<double>{0.001, 0.002, 0.003});
  CHECK(log.metrics.at("tokens/s").value.size() == 3);
  CHECK(log.metrics.at("valid loss").value == std::vector<double>{3.0, 2.0});
  CHECK(log.metrics.at("valid perplexity").step == std::vector<double>{2, 4});
  CHECK(log.metrics.at("valid accuracy").value == std::vector<double>{0.25, 0.5});
  CHECK(log.metrics.at("valid bits per byte").step == std::vector<double>{4});  // only where written
  CHECK(read(header).metrics.empty());
}

TEST_CASE("columns are found by name; a file without step, loss or split is refused, naming it") {
  const auto log = read("split,loss,step\ntrain,1.5,10\n");
  CHECK(log.metrics.at("train loss").step == std::vector<double>{10});
  CHECK(log.metrics.count("lr") == 0);
  CHECK(
      error_of("a,b,c\n1,2,3\n") ==
      "'run.csv' is not an attn training log: no 'step' column (attn train --log writes step,epoch,loss,lr,...,split)");
  CHECK(error_of("step,loss\n1,2\n").find("no 'split' column") != std::string::npos);
  CHECK(error_of("") == "'run.csv' is not an attn training log: it is empty");
  CHECK(error_of(std::string(header) + "1,0,abc,0.1,1,1,1,,,,train\n") ==
        "'run.csv' line 2: loss 'abc' is not a number");
  // A NUL in a field ends neither the number nor the message: all of it is shown, as \x00.
  CHECK(error_of(std::string(header) + "1,0,3" + '\0' + "x,0.1,1,1,1,,,,train\n") ==
        "'run.csv' line 2: loss '3\\x00x' is not a number");
}
