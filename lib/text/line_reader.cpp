#include "text/line_reader.h"

#include <cstring>

#include "core/error.h"

namespace attn {

bool line_reader::fill() {
  if (eof_) return false;
  if (begin_ > 0) {  // drop consumed lines before growing, so the buffer holds ~ one line + chunk
    buf_.erase(0, begin_);
    scan_ -= begin_;
    begin_ = 0;
  }
  const std::size_t old = buf_.size();
  buf_.resize(old + chunk_);
  in_.read(&buf_[old], static_cast<std::streamsize>(chunk_));
  const auto got = static_cast<std::size_t>(in_.gcount());
  buf_.resize(old + got);
  if (in_.bad()) throw attn::read_error(name_);
  if (got < chunk_) eof_ = true;
  return got > 0;
}

bool line_reader::next(std::string_view& line) {
  while (true) {
    const char* base = buf_.data();
    const void* nl = scan_ < buf_.size() ? std::memchr(base + scan_, '\n', buf_.size() - scan_) : nullptr;
    if (nl) {
      const std::size_t end = static_cast<const char*>(nl) - base;
      line = std::string_view(base + begin_, end - begin_);
      consumed_ += end + 1 - begin_;
      begin_ = scan_ = end + 1;
      had_newline_ = true;
      ++lines_;
      return true;
    }
    scan_ = buf_.size();
    if (!fill()) break;
  }
  if (begin_ == buf_.size()) return false;
  line = std::string_view(buf_.data() + begin_, buf_.size() - begin_);
  consumed_ += buf_.size() - begin_;
  begin_ = scan_ = buf_.size();
  had_newline_ = false;
  ++lines_;
  return true;
}

}  // namespace attn
