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
//
// A pass may read several slices of the query (feed_slices), one after the
// other from page 0, each down to the same floor. Each slice's result set
// is a snapshot taken when its page 0 was asked for (in the Keepa minute
// its answer names), so a slice read later lists deals newer than one read
// earlier. A slice is read up to its bound, the end of its snapshot's minute
// (its top when the answer names no time): every deal of an older minute is
// in the snapshot, and one updated later in the snapshot's minute is found
// by the next pass, whose floor's minute stays open. The pass hands on only
// deals up to its horizon, the lowest bound of its slices: below it every
// slice was read. The rest is read again by the next pass, so the watermark
// never passes a page of any slice not yet read.

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
    /// No page follows in this slice: the floor, the end of the feed (a
    /// short page) or the page limit.
    bool slice_done = false;
    /// The slice ended at the result cap, not at its floor: it listed
    /// `page_size` x the page limit deals or more, and older ones were cut
    /// off (the slice should be split).
    bool overflow = false;
    /// No page follows in this pass: the last slice is done.
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

  /// Begins a pass of `slices` slices at page 0 of the first, with the
  /// newest position handed on as floor.
  void begin_pass(size_t slices = 1);

  /// Takes the next page of the pass (any order; sorted here);
  /// `snapshot_minute` is the Keepa minute the answer names (its server
  /// time), 0 if unknown.
  page_result take_page(std::vector<deal> deals, int32_t snapshot_minute = 0);

  /// Ends the pass. A `complete` one returns what it found up to its
  /// horizon, oldest first, and moves the cursor to the newest of it; an
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

  /// The slice a pass asks for next.
  size_t slice() const {
    return slice_;
  }

  /// Deals found this pass above its horizon so far: left to the next pass.
  size_t held_back() const {
    return held_back_;
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
  size_t slice_ = 0;
  size_t slices_ = 1;
  /// Deals the current slice listed so far.
  size_t slice_listed_ = 0;
  /// How far each slice of the pass was read (see above), if known.
  std::vector<feed_position> bounds_;
  size_t held_back_ = 0;
};

} // namespace keepa
