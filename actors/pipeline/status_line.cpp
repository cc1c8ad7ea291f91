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

std::string human_duration(caf::timespan x) {
  auto s = std::max<int64_t>(
    0, std::chrono::duration_cast<std::chrono::seconds>(x).count());
  auto two = [](int64_t a, const char* ua, int64_t b, const char* ub) {
    return std::to_string(a) + " " + ua + " " + std::to_string(b) + " " + ub;
  };
  if (s < 60)
    return std::to_string(s) + " s";
  if (s < 3600)
    return two(s / 60, "min", s % 60, "s");
  if (s < 86400)
    return two(s / 3600, "h", s % 3600 / 60, "min");
  return two(s / 86400, "d", s % 86400 / 3600, "h");
}

} // namespace keepa
