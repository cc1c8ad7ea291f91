// The COMMITTER: fetches survivors in sub-batches (profile commit-batch) as
// full products (offers, 365-day stats, no history), computes the deal record
// (actors/deal_analysis.hpp) and stores it; a survivor that does not pay is
// stored as a rejection. Either way its feed position is done, so the
// watermark advances even with several batches in flight.

#pragma once

#include <string>
#include <vector>

#include "actors/stages/batch_stage.hpp"
#include "actors/stages/stage.hpp"
#include "messages/pipeline.hpp"
#include "config/defaults.hpp"

namespace keepa {

struct committer_config {
  int32_t max_in_flight = defaults::commit::max_in_flight;
  int32_t attempts = defaults::commit::attempts;
};

struct committer_state;

using committer_pointer = committer_actor::stateful_pointer<committer_state>;

/// The COMMITTER's state: the batch stage's queue of survivors, first come,
/// first served.
struct committer_state : batch_state_base<survivor> {
  static constexpr const char* name = "committer";
  static constexpr stage what = stage::commit;

  uint64_t committed = 0;
  uint64_t rejected = 0;
  /// Deals storage acknowledged.
  uint64_t stored = 0;
  int64_t profit_sum = 0;

  static int32_t batch_size(const profile& p) {
    return p.commit_batch;
  }

  static const std::string& asin_of(const survivor& s) {
    return s.candidate.asin;
  }

  static product_query make_query(committer_pointer self, const profile& p,
                                  const std::vector<survivor>& xs);

  /// Computes the deal records; stores them or their rejections.
  static void on_products(committer_pointer self, std::vector<survivor> xs,
                          product_page& page);

  /// Records survivors out of attempts as rejections, so the watermark
  /// moves on.
  static void on_failed(committer_pointer self, std::vector<survivor> xs,
                        const caf::error& err);
};

/// The behavior of the COMMITTER.
committer_actor::behavior_type
committer(committer_pointer self, stage_context ctx, committer_config cfg);

committer_actor spawn_committer(caf::actor_system& sys, stage_context ctx,
                                committer_config cfg);

} // namespace keepa
