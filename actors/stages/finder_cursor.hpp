// The SCANNER's place in Product Finder (/query) results as a plain class:
// no actors, no clock, no I/O.
//
// Product Finder lists ASINs only, no product objects: no price, no
// lastUpdate per ASIN. Its "watermark" is a minute: a pass asks for the
// products updated at or after its floor (`lastUpdate_gte`), newest first
// (`sort` lastUpdate descending), and its candidates take the feed position
// (the pass's minute, ASIN), where the pass's minute is the Keepa minute
// of its first page's answer. Once the pass is complete, every product
// updated before that minute was listed (up to the 10 000 a query lists),
// so the next pass's floor is that minute; the minute itself stays open
// (lastUpdate_gte), as the deal feed's does. Finder results are not cached,
// so a product updated while the pass pages moves to the front, into a
// page already read: the order makes it come again (a duplicate) or wait
// for the next pass (its lastUpdate is at or after the floor), never be
// skipped. After a start the floor is the durable watermark's minute.
//
// The positions are tracked, done and resumed by STORAGE exactly like the
// deal feed's (storage/low_watermark.hpp). With both sources, a finder
// pass's positions are capped at the deal feed's newest position handed
// on, so the shared watermark never passes a deal page not yet read.

#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "messages/keepa.hpp"
#include "messages/storage.hpp"

namespace keepa {

class finder_cursor {
public:
  // -- constants --------------------------------------------------------------

  /// Most ASINs one Product Finder query lists (over all its pages).
  static constexpr int64_t max_results = 10000;

  // -- member types -----------------------------------------------------------

  struct page_result {
    /// ASINs the page listed.
    size_t seen = 0;
    /// Listed before in this pass, or resumed from the previous run.
    size_t duplicates = 0;
    /// New ASINs this page added to the pass.
    size_t fresh = 0;
    /// No page follows: a short page, all results read, or the cap.
    bool last = false;
    /// The query matched more than a query lists: the oldest were not read.
    bool overflow = false;
  };

  // -- modifiers --------------------------------------------------------------

  /// Starts from the durable `watermark`: its minute is the first floor
  /// (the default position: no floor; the SCANNER then asks for the last
  /// 12 hours, what /deal lists).
  void start(const feed_position& watermark);

  /// Takes the positions a previous run handed on but did not finish: the
  /// next complete pass does not hand their ASINs on again.
  void resume(const std::vector<feed_position>& xs);

  /// Begins a pass at page 0 that lists `per_page` ASINs a page.
  void begin_pass(int32_t per_page);

  /// Takes the next page: its ASINs, the answer's `totalResults` (-1 if
  /// absent) and the Keepa minute its answer names (0 if unknown).
  page_result take_page(std::vector<std::string> asins, int64_t total,
                        int32_t snapshot_minute);

  /// Ends the pass. A `complete` one returns its candidates (ASIN and
  /// position only, ASIN order) at the pass's minute, or at `cap` when that
  /// is lower and positive, and moves the floor to the pass's minute; an
  /// incomplete one returns nothing and moves nothing.
  std::vector<deal> finish_pass(bool complete, int32_t cap = 0);

  /// Moves the floor back to where the last complete pass began: its
  /// candidates could not be tracked, so the next pass lists them again.
  void rewind_pass();

  // -- inspectors -------------------------------------------------------------

  /// The floor minute (0 = none).
  int32_t floor() const {
    return floor_;
  }

  int32_t page() const {
    return page_;
  }

  int32_t per_page() const {
    return per_page_;
  }

  /// ASINs found in the current pass so far.
  size_t found() const {
    return fresh_.size();
  }

private:
  int32_t floor_ = 0;
  int32_t pass_floor_ = 0;
  int32_t page_ = 0;
  int32_t per_page_ = 50;
  int32_t snapshot_ = 0;
  std::set<std::string> seen_;
  std::vector<std::string> fresh_;
  /// ASINs resumed from the previous run, until a pass completes.
  std::set<std::string> resumed_;
};

/// The query JSON of a finder pass: `base` (the query file) with
/// lastUpdate_gte = `floor` (when positive) and sort lastUpdate descending
/// (the order the cursor pages in); the pre-filter's price range goes to
/// Keepa as current_USED_gte/lte (`min_price` and `max_price` in cents,
/// when positive) unless the query sets its own. An error when `base` is
/// not a JSON object.
caf::expected<std::string> finder_selection(const std::string& base,
                                            int32_t floor, int64_t min_price,
                                            int64_t max_price);

} // namespace keepa
