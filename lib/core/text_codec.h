#pragma once
// Settings as text, one way everywhere: configs travel through checkpoints, --config files and
// logs as key = value strings. Floats are printed with 9 significant digits, which reads back
// bit-identical; bools are "true"/"false" (and read "1"/"0" too). The read_* functions return
// nullopt for text that is not exactly one value, so each caller words its own error.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attn {

std::string format_float(float x);
std::string format_bool(bool x);
// The shortest text that reads back as the same float: "0.1" for 0.1f (format_float: "0.100000001").
std::string format_float_short(float x);
// 1234567 -> "1,234,567" (for people reading counts; never for files read back)
std::string format_count(std::size_t n);

// Numbers are read strictly, one spelling everywhere (options, --config files, checkpoints):
// decimal digits only, no surrounding spaces and no '+' sign (strtof alone would take " 5",
// "+5", hex "0x10" = 16, "inf" and "nan"), so what is stored is what was meant.
// read_float: [-]digits[.digits][e[+-]digits] (".5" and "5." too; the exponent's sign because
// format_float writes "1e+10"), finite and within a float's range.
std::optional<float> read_float(const std::string& text);
std::optional<std::int64_t> read_int(const std::string& text);   // [-]digits, within int64
std::optional<std::size_t> read_count(const std::string& text);  // digits only
std::optional<bool> read_bool(const std::string& text);          // true/false/1/0

// "a, b, c": the list of names an error offers.
std::string join_names(const std::vector<std::string>& names, const std::string& separator = ", ");

// Whether `name` is one of `names`.
bool is_one_of(const std::string& name, const std::vector<std::string>& names);

// "unknown optimizer 'x' (known: sgd, adam)": the one wording for a name not in a table.
std::string unknown_name_message(const std::string& what, const std::string& name,
                                 const std::vector<std::string>& known);

}  // namespace attn
