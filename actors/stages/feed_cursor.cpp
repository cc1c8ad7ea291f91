#include "actors/stages/feed_cursor.hpp"

#include <algorithm>
#include <iterator>

#include "messages/asin.hpp"

namespace keepa {

feed_cursor::feed_cursor(int32_t max_pages) : max_pages_(max_pages) {
  // nop
}

void feed_cursor::start(const feed_position& watermark) {
  upto_ = watermark;
  has_upto_ = !(watermark == feed_position{});
}

std::vector<deal> feed_cursor::resume(const std::vector<feed_position>& xs) {
  std::vector<deal> again;
  again.reserve(xs.size());
  for (auto& x : xs) {
    resumed_.insert(x);
    deal d;
    d.asin = x.asin;
    d.last_update = x.last_update;
    again.push_back(std::move(d));
  }
  return again;
}

void feed_cursor::begin_pass(size_t slices) {
  page_ = 0;
  slice_ = 0;
  slices_ = std::max<size_t>(slices, 1);
  slice_listed_ = 0;
  bounds_.clear();
  pass_floor_ = upto_;
  pass_had_upto_ = has_upto_;
  pass_floor_minute_ = upto_minute_;
  pass_newest_ = upto_;
  pass_seen_.clear();
  pass_fresh_.clear();
  // A resumed position older than the floor's minute cannot come again;
  // one in that minute can (the minute is still open).
  resumed_.erase(
    resumed_.begin(),
    resumed_.lower_bound(feed_position{pass_floor_.last_update, ""}));
}

feed_cursor::page_result feed_cursor::take_page(std::vector<deal> deals,
                                                int32_t snapshot_minute) {
  page_result r;
  auto full = deals.size() >= page_size;
  // Newest first by (lastUpdate, asin), whatever order Keepa sent.
  std::sort(deals.begin(), deals.end(), [](const deal& x, const deal& y) {
    return position_of(y) < position_of(x);
  });
  slice_listed_ += deals.size();
  if (page_ == 0) {
    // Above every ASIN (ASCII letters and digits) of the minute.
    feed_position bound{snapshot_minute, "\x7f"};
    if (!deals.empty()
        && (snapshot_minute <= 0 || bound < position_of(deals.front())))
      bound = position_of(deals.front());
    if (snapshot_minute > 0 || !deals.empty())
      bounds_.push_back(std::move(bound));
  }
  std::vector<deal> fresh;
  for (auto& d : deals) {
    auto pos = position_of(d);
    if (has_upto_ && pos <= pass_floor_) {
      if (pos.last_update < pass_floor_.last_update) {
        r.reached = true;
        break;
      }
      if (upto_minute_.count(pos) != 0)
        continue;
    }
    if (!valid_asin(d.asin)) {
      r.invalid.push_back(std::move(d.asin));
      continue;
    }
    ++r.seen;
    if (!pass_seen_.insert(pos).second || resumed_.count(pos) != 0) {
      ++r.duplicates;
      continue;
    }
    fresh.push_back(std::move(d));
  }
  r.fresh = fresh.size();
  if (!fresh.empty() && pass_newest_ < position_of(fresh.front()))
    pass_newest_ = position_of(fresh.front());
  pass_fresh_.insert(pass_fresh_.end(), std::make_move_iterator(fresh.begin()),
                     std::make_move_iterator(fresh.end()));
  r.slice_done = r.reached || !full || page_ + 1 >= max_pages_;
  r.overflow = r.slice_done && !r.reached
    && slice_listed_ >= page_size * static_cast<size_t>(max_pages_ - 1);
  r.last = r.slice_done && slice_ + 1 >= slices_;
  if (!r.slice_done) {
    ++page_;
  } else if (!r.last) {
    ++slice_;
    page_ = 0;
    slice_listed_ = 0;
  }
  return r;
}

std::vector<deal> feed_cursor::finish_pass(bool complete) {
  auto found = std::move(pass_fresh_);
  pass_fresh_.clear();
  held_back_ = 0;
  if (!complete)
    return {};
  if (slices_ > 1 && !bounds_.empty()) {
    // Up to the horizon: below it every slice was read.
    auto horizon = *std::min_element(bounds_.begin(), bounds_.end());
    auto above = [&](const deal& d) { return horizon < position_of(d); };
    held_back_
      = static_cast<size_t>(std::count_if(found.begin(), found.end(), above));
    found.erase(std::remove_if(found.begin(), found.end(), above), found.end());
    std::sort(found.begin(), found.end(), [](const deal& x, const deal& y) {
      return position_of(y) < position_of(x);
    });
    pass_newest_ = found.empty() ? pass_floor_ : position_of(found.front());
    if (pass_newest_ < pass_floor_)
      pass_newest_ = pass_floor_;
  }
  if (has_upto_ || !(pass_newest_ == feed_position{})) {
    if (upto_ < pass_newest_)
      upto_ = pass_newest_;
    has_upto_ = true;
  }
  auto minute = upto_.last_update;
  upto_minute_.erase(upto_minute_.begin(),
                     upto_minute_.lower_bound(feed_position{minute, ""}));
  for (auto& d : found)
    if (d.last_update == minute)
      upto_minute_.insert(position_of(d));
  std::reverse(found.begin(), found.end());
  return found;
}

void feed_cursor::rewind_pass() {
  upto_ = pass_floor_;
  has_upto_ = pass_had_upto_;
  upto_minute_ = pass_floor_minute_;
}

} // namespace keepa
