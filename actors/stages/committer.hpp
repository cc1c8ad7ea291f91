// The COMMITTER: fetches survivors in sub-batches (profile commit-batch) as
// full products (history, offers, 365-day stats), computes the deal record
// (actors/deal_analysis.hpp) and stores it; a survivor that does not pay is
// stored as a rejection. Either way its feed position is done, so the
// watermark advances even with several batches in flight.

#pragma once

#include "actors/stages/stage.hpp"
#include "config/defaults.hpp"

namespace keepa {

struct committer_config {
  int32_t max_in_flight = defaults::commit::max_in_flight;
  int32_t attempts = defaults::commit::attempts;
};

committer_actor spawn_committer(caf::actor_system& sys, stage_context ctx,
                                committer_config cfg);

} // namespace keepa
