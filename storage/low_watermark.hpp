// The scan watermark as a plain class: the newest feed position P such that
// every tracked position <= P is done. The STORAGE actor previews the value a
// batch would reach, writes it in the batch's transaction and applies it only
// once that transaction is durable.
//
// Keepa's lastUpdate counts minutes, so the watermark's own minute stays
// open: a book updated later in that minute may sort below P by its ASIN
// and still be new. Such a position is tracked like any newer one (it is
// "open"), and while it is pending the watermark does not move.

#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "messages/storage.hpp"

namespace keepa::db {

class low_watermark {
public:
  // -- constructors -----------------------------------------------------------

  /// Starts at the durable watermark `start` with nothing pending.
  explicit low_watermark(feed_position start = {});

  // -- modifiers --------------------------------------------------------------

  /// Registers scanned positions that are not done yet. Positions older than
  /// the watermark's minute and positions already done are ignored. Returns
  /// the number of pending positions.
  uint64_t track(const std::vector<feed_position>& xs);

  /// Marks `done` as done and moves the watermark to `next`, which must be
  /// the result of `preview(done)`.
  void apply(const std::vector<feed_position>& done, const feed_position& next);

  // -- inspectors -------------------------------------------------------------

  /// The watermark after marking `done` as done, without changing anything.
  /// Never less than the current watermark.
  feed_position preview(const std::vector<feed_position>& done) const;

  /// The positions of `xs` that `track` would add: open (not older than
  /// the watermark's minute), neither pending nor done yet, each once.
  std::vector<feed_position>
  untracked(const std::vector<feed_position>& xs) const;

  /// The tracked positions that are not done, oldest first.
  std::vector<feed_position> pending_positions() const {
    return {pending_.begin(), pending_.end()};
  }

  /// The current (durable) watermark.
  const feed_position& value() const noexcept {
    return value_;
  }

  /// Tracked positions that are not done.
  uint64_t pending() const noexcept {
    return pending_.size();
  }

  /// Done positions above the watermark, held back by a pending one.
  uint64_t held() const noexcept {
    return done_.size();
  }

  /// Whether `x` can still be tracked: in the watermark's minute or newer.
  bool open(const feed_position& x) const noexcept {
    return value_.last_update <= x.last_update;
  }

private:
  feed_position value_;
  /// Tracked, not done, open (possibly below value_ in its minute).
  std::set<feed_position> pending_;
  /// Done, above value_.
  std::set<feed_position> done_;
};

} // namespace keepa::db
