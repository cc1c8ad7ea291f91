#include "actors/pipeline/status_line.hpp"

#include <algorithm>
#include <chrono>
#include <set>

namespace keepa {

namespace {

/// The fields that show when every rank up to `dropped` is dropped.
std::string render(const std::vector<status_field>& fields, int dropped) {
  std::string out;
  int group = 0;
  bool first = true;
  for (auto& f : fields) {
    const std::string* text = nullptr;
    if (f.rank > dropped)
      text = &f.text;
    else if (!f.short_text.empty() && f.short_rank > dropped)
      text = &f.short_text;
    if (text == nullptr || text->empty())
      continue;
    if (!first)
      out += f.group == group ? f.sep : " | ";
    out += *text;
    group = f.group;
    first = false;
  }
  return out;
}

} // namespace

std::string fit_fields(const std::vector<status_field>& fields, size_t width) {
  std::set<int> ranks;
  for (auto& f : fields) {
    ranks.insert(f.rank);
    if (!f.short_text.empty())
      ranks.insert(f.short_rank);
  }
  auto line = render(fields, INT_MIN);
  for (auto rank : ranks) {
    if (width == 0 || line.size() <= width || rank == INT_MAX)
      break;
    line = render(fields, rank);
  }
  return line;
}

} // namespace keepa
