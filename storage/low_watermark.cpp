#include "storage/low_watermark.hpp"

#include <algorithm>

namespace keepa::db {

low_watermark::low_watermark(feed_position start) : value_(std::move(start)) {
  // nop
}

uint64_t low_watermark::track(const std::vector<feed_position>& xs) {
  for (auto& x : xs)
    if (open(x) && done_.count(x) == 0)
      pending_.insert(x);
  return pending_.size();
}

std::vector<feed_position>
low_watermark::untracked(const std::vector<feed_position>& xs) const {
  std::vector<feed_position> result;
  for (auto& x : xs)
    if (open(x) && done_.count(x) == 0 && pending_.count(x) == 0)
      result.push_back(x);
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  return result;
}

feed_position
low_watermark::preview(const std::vector<feed_position>& done) const {
  std::vector<feed_position> batch;
  batch.reserve(done.size());
  for (auto& x : done)
    if (open(x))
      batch.push_back(x);
  std::sort(batch.begin(), batch.end());
  // The lowest position still pending once `batch` is done bounds the result.
  const feed_position* bound = nullptr;
  for (auto& p : pending_)
    if (!std::binary_search(batch.begin(), batch.end(), p)) {
      bound = &p;
      break;
    }
  // The newest done position below the bound is the new watermark.
  auto result = value_;
  auto below = [&](const feed_position& x) {
    return bound == nullptr || x < *bound;
  };
  auto i = bound == nullptr ? done_.end() : done_.lower_bound(*bound);
  if (i != done_.begin())
    result = std::max(result, *std::prev(i));
  for (auto j = batch.rbegin(); j != batch.rend(); ++j)
    if (below(*j)) {
      result = std::max(result, *j);
      break;
    }
  return result;
}

void low_watermark::apply(const std::vector<feed_position>& done,
                          const feed_position& next) {
  for (auto& x : done)
    if (open(x)) {
      pending_.erase(x);
      done_.insert(x);
    }
  if (value_ < next)
    value_ = next;
  done_.erase(done_.begin(), done_.upper_bound(value_));
  // `next` stays below every pending position; a pending one below value_
  // (open in its minute) holds it back until done.
  pending_.erase(pending_.begin(),
                 pending_.lower_bound(feed_position{value_.last_update, ""}));
}

} // namespace keepa::db
