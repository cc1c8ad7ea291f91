// The parts of keepa-pipeline's status line (report.hpp, `status_line`):
// fields with a drop rank, fitted to the terminal's width, and durations
// as people read them.
//
// The line, in display order (a field's rank in brackets; when the line is
// too wide the lowest rank goes first, a field with a short form takes it
// before it goes):
//
//   balance -173 [never]
//   | recharging [90], waiting until the balance reaches 120, in 11 min
//     51 s [12; short "until balance 120, in 11 min 51 s" until 70]
//   | committed 12345 [never], 6172 deals/h [50]
//   | scanned 1234567 [20] pre-rejected 987666 [11] peeked 234567 [25]
//     rejected 125801 [15] updated 34567 [10]
//   | tokens/deal 100 [30] | feed-limited [35] | up 2 h 0 min [40]
//   | max-deals in 3 h 2 min [45] (with keepa.max-deals)
//   | auth failures 3 [95] (once Keepa refused the key)
//
// So the order is: updated, pre-rejected, the wait's long form, rejected,
// scanned, peeked, tokens/deal, feed-limited, up, deals/h, the wait, the
// mode; balance and committed deals always stay (about 30 columns).
// Another field takes a rank between those it is less and more important
// than.

#pragma once

#include <climits>
#include <optional>
#include <string>
#include <vector>

#include <caf/timespan.hpp>

#include "actors/analysis/human_duration.hpp"

namespace keepa {

/// How to render the status line.
struct status_view {
  /// Columns available; 0 = no limit (a log line).
  size_t width = 80;
  /// Time since the program started; unknown when empty.
  std::optional<caf::timespan> elapsed;
};

/// One field of the status line.
struct status_field {
  /// Fields of the same group are separated by `sep`, groups by " | ".
  int group = 0;
  std::string text;
  /// Dropped (or shortened) once the line needs ranks up to this one
  /// dropped; INT_MAX = never.
  int rank = INT_MAX;
  /// A shorter form used while the rank is between `rank` and `short_rank`.
  std::string short_text;
  int short_rank = 0;
  /// Before this field when the previous one is of the same group.
  std::string sep = " ";
};

/// The fields joined, dropping and shortening the lowest ranks first until
/// the line fits `width` (0 = no limit).
std::string fit_fields(const std::vector<status_field>& fields, size_t width);

} // namespace keepa
