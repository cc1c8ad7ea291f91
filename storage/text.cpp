#include "storage/text.hpp"

#include <cstddef>

#include <rapidjson/encodings.h>

namespace keepa::db {

namespace {

/// RapidJSON's input stream concept over [pos, end); past the end it reads
/// NUL, which continues no multi-byte sequence.
struct bounded_stream {
  using Ch = char;
  const char* pos;
  const char* end;

  Ch Peek() const {
    return pos < end ? *pos : '\0';
  }

  Ch Take() {
    return pos < end ? *pos++ : '\0';
  }

  size_t Tell() const {
    return 0;
  }
};

} // namespace

bool repair_utf8(std::string& x) {
  // RapidJSON's decoder follows the Unicode DFA: it rejects overlong forms,
  // surrogates and code points above U+10FFFF.
  std::string out;
  bool changed = false;
  const char* first = x.data();
  const char* last = first + x.size();
  for (const char* i = first; i < last;) {
    bounded_stream in{i, last};
    unsigned cp = 0;
    if (!rapidjson::UTF8<>::Decode(in, &cp)) {
      if (!changed)
        out.assign(first, i);
      changed = true;
      out += "\xEF\xBF\xBD"; // U+FFFD
      ++i;
      continue;
    }
    if (cp == 0) {
      if (!changed)
        out.assign(first, i);
      changed = true;
    } else if (changed) {
      out.append(i, in.pos);
    }
    i = in.pos;
  }
  if (changed)
    x = std::move(out);
  return changed;
}

} // namespace keepa::db
