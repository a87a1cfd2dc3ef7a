#include "text/char_class.h"

namespace attn {

namespace {

struct range {
  uint32_t first, last;
  char_class cls;
};

// Sorted, non-overlapping ranges above ASCII; anything not covered is a letter.
constexpr range ranges[] = {
    {0x80, 0x9F, char_class::punct},  // C1 controls
    {0xA0, 0xA0, char_class::space},           {0xA1, 0xA9, char_class::punct},
    {0xAB, 0xB4, char_class::punct},           {0xB6, 0xB9, char_class::punct},
    {0xBB, 0xBF, char_class::punct},           {0xD7, 0xD7, char_class::punct},
    {0xF7, 0xF7, char_class::punct},           {0x1680, 0x1680, char_class::space},
    {0x2000, 0x200A, char_class::space},       {0x2010, 0x2027, char_class::punct},
    {0x2028, 0x2029, char_class::space},       {0x202F, 0x202F, char_class::space},
    {0x2030, 0x205E, char_class::punct},       {0x205F, 0x205F, char_class::space},
    {0x20A0, 0x20CF, char_class::punct},  // currency
    {0x2100, 0x2BFF, char_class::punct},  // letterlike, arrows, maths, box drawing, dingbats
    {0x2E00, 0x2E7F, char_class::punct},       {0x3000, 0x3000, char_class::space},
    {0x3001, 0x303F, char_class::punct},       {0x3040, 0x30FF, char_class::ideograph},  // hiragana, katakana
    {0x3400, 0x4DBF, char_class::ideograph},   {0x4E00, 0x9FFF, char_class::ideograph},
    {0xF900, 0xFAFF, char_class::ideograph},   {0xFE10, 0xFE1F, char_class::punct},
    {0xFE30, 0xFE6F, char_class::punct},       {0xFF01, 0xFF0F, char_class::punct},
    {0xFF10, 0xFF19, char_class::digit},       {0xFF1A, 0xFF20, char_class::punct},
    {0xFF3B, 0xFF40, char_class::punct},       {0xFF5B, 0xFF65, char_class::punct},
    {0xFFF0, 0xFFFF, char_class::punct},       {0x1F000, 0x1FAFF, char_class::punct},      // emoji and pictographs
    {0x20000, 0x3FFFF, char_class::ideograph}, {0x110000, 0xFFFFFFFF, char_class::punct},  // invalid bytes
};

struct ascii_table {
  char_class c[128];
  constexpr ascii_table() : c() {
    for (int i = 0; i < 128; ++i) {
      if (i == ' ' || i == '\t' || i == '\r' || i == '\v' || i == '\f' || i == '\n')
        c[i] = char_class::space;
      else if (i >= '0' && i <= '9')
        c[i] = char_class::digit;
      else if ((i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z'))
        c[i] = char_class::letter;
      else
        c[i] = char_class::punct;  // punctuation and the remaining control characters (NUL...)
    }
  }
};

constexpr ascii_table ascii;

}  // namespace

char_class classify(uint32_t cp) {
  if (cp < 128) return ascii.c[cp];
  // Binary search: the table is small, so this is a handful of comparisons.
  int lo = 0, hi = static_cast<int>(sizeof(ranges) / sizeof(ranges[0])) - 1;
  while (lo <= hi) {
    const int mid = (lo + hi) / 2;
    if (cp < ranges[mid].first)
      hi = mid - 1;
    else if (cp > ranges[mid].last)
      lo = mid + 1;
    else
      return ranges[mid].cls;
  }
  return char_class::letter;
}

}  // namespace attn
