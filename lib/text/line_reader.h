#pragma once
// Reads a stream line by line into string_views over one growing buffer (no allocation per
// line, no 'getline' copy), and remembers whether the last line ended with '\n' so that
// tokenize/decode can reproduce a file exactly. '\r' is left in the line: it is data.
#include <cstdint>
#include <istream>
#include <string>
#include <string_view>

namespace attn {

class line_reader {
 public:
  // name is for the message of a read error.
  explicit line_reader(std::istream& in, std::string name = "input", std::size_t chunk = 1 << 16)
      : in_(in), name_(std::move(name)), chunk_(chunk) {}
  // Sets line to the next line without its '\n' (valid until the next call); false at the end.
  // Throws attn::error if the stream reports a read error.
  bool next(std::string_view& line);
  // Whether the line last returned was followed by '\n' (false only for a final unterminated line).
  bool had_newline() const { return had_newline_; }
  uint64_t line_number() const { return lines_; }  // 1-based number of the line last returned
  uint64_t bytes() const { return consumed_; }     // bytes consumed so far, newlines included

 private:
  bool fill();  // appends one chunk; false at end of stream
  std::istream& in_;
  std::string name_;
  std::size_t chunk_;
  std::string buf_;
  std::size_t begin_ = 0;  // start of unread data in buf_
  std::size_t scan_ = 0;   // where the search for '\n' resumes
  bool eof_ = false;
  bool had_newline_ = true;
  uint64_t lines_ = 0;
  uint64_t consumed_ = 0;
};

}  // namespace attn
