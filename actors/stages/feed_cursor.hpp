// The SCANNER's place in the deal feed as a plain class: no actors, no
// clock, no I/O. /deal (sortType 1) lists deals newest first; a deal's feed
// position is (last_update, asin), and Keepa's lastUpdate counts minutes.
//
// A pass pages down from the newest deal to its floor: the newest position
// handed on before (after a start, the durable watermark). A book updated
// later in the floor's minute sorts below the floor by its ASIN and is still
// new, so the cursor remembers the positions it handed on in that minute and
// lets the others through. Pages overlap when the feed moves during a pass:
// a position seen twice in a pass is a duplicate. A deal whose ASIN storage
// would refuse (valid_asin) is left out alone, and its page still counts
// as full. A pass hands on what it
// found only once it is complete, oldest first; an incomplete one (a page
// that failed every attempt, a stop) hands on nothing and the next pass reads
// its pages again, so the watermark never passes a page not yet read. Positions
// a previous run handed on but did not finish are handed on again at start
// (resume), and the feed does not hand them on a second time.

#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "messages/keepa.hpp"
#include "messages/storage.hpp"

namespace keepa {

/// The feed position of a deal.
inline feed_position position_of(const deal& d) {
  return feed_position{d.last_update, d.asin};
}

class feed_cursor {
public:
  // -- constants --------------------------------------------------------------

  /// Deals on a full /deal page; a shorter page is the end of the feed.
  static constexpr size_t page_size = 150;

  // -- member types -----------------------------------------------------------

  /// What one page gave.
  struct page_result {
    /// Deals above the floor (or new in its minute), duplicates included.
    size_t seen = 0;
    /// Seen before in this pass, or resumed from the previous run.
    size_t duplicates = 0;
    /// New deals this page added to the pass.
    size_t fresh = 0;
    /// ASINs storage would refuse (valid_asin): skipped, each alone.
    std::vector<std::string> invalid;
    /// The page went below the floor's minute: older pages hold nothing new.
    bool reached = false;
    /// No page follows in this pass: the floor, the end of the feed (a
    /// short page) or the page limit.
    bool last = false;
  };

  // -- constructors -----------------------------------------------------------

  /// A cursor that reads at most `max_pages` pages per pass.
  explicit feed_cursor(int32_t max_pages);

  // -- modifiers --------------------------------------------------------------

  /// Starts from the durable `watermark`; the default position means
  /// nothing was handed on yet (the first pass reads the whole feed).
  void start(const feed_position& watermark);

  /// Takes the positions a previous run handed on but did not finish: the
  /// feed will not hand them on again. Returns them as deals (only ASIN and
  /// lastUpdate survive a restart), in the given order.
  std::vector<deal> resume(const std::vector<feed_position>& xs);

  /// Begins a pass at page 0 with the newest position handed on as floor.
  void begin_pass();

  /// Takes the next page of the pass (any order; sorted here).
  page_result take_page(std::vector<deal> deals);

  /// Ends the pass. A `complete` one moves the cursor to the newest
  /// position it found and returns what it found, oldest first; an
  /// incomplete one returns nothing and moves nothing.
  std::vector<deal> finish_pass(bool complete);

  /// Moves the cursor back to where the last complete pass began: what it
  /// found could not be handed on (storage did not track it), so the next
  /// pass reads it again. Call it before the next pass begins.
  void rewind_pass();

  // -- inspectors -------------------------------------------------------------

  /// The newest position handed on (or the watermark at start).
  const feed_position& upto() const {
    return upto_;
  }

  /// Whether anything was handed on (or a watermark was given).
  bool has_upto() const {
    return has_upto_;
  }

  /// The page a pass asks for next.
  int32_t page() const {
    return page_;
  }

  /// Deals the current pass found so far.
  size_t found() const {
    return pass_fresh_.size();
  }

private:
  int32_t max_pages_;
  feed_position upto_;
  bool has_upto_ = false;
  /// Positions handed on in `upto_`'s minute.
  std::set<feed_position> upto_minute_;
  /// `upto_` when the pass began: the pass stops before its minute.
  feed_position pass_floor_;
  /// `has_upto_` and `upto_minute_` when the pass began (for rewind_pass).
  bool pass_had_upto_ = false;
  std::set<feed_position> pass_floor_minute_;
  feed_position pass_newest_;
  /// Positions seen in this pass.
  std::set<feed_position> pass_seen_;
  /// What this pass found, newest first.
  std::vector<deal> pass_fresh_;
  /// Positions resumed from the previous run.
  std::set<feed_position> resumed_;
  int32_t page_ = 0;
};

} // namespace keepa
