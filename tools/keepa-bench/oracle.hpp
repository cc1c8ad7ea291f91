// keepa-bench's oracle: a stand-in for the PEEK-FILTER that knows the
// simulator's truth. It pays for nothing: a candidate that is a good deal
// now goes straight to the COMMITTER, whose full request and the SCANNER's
// pages are then the only tokens spent; every other candidate is done for
// free. With the scanner and committer as configured, it is the most good
// deals the plan can buy on that catalogue: the bench's physical limit.

#pragma once

#include <functional>

#include <caf/fwd.hpp>

#include "actors/stages/stage.hpp"
#include "messages/actors.hpp"
#include "messages/keepa.hpp"

namespace keepa {

/// Simulator truth: the deal is a good one now.
using deal_truth = std::function<bool(const deal&)>;

peek_filter_actor spawn_oracle(caf::actor_system& sys, stage_context ctx,
                               committer_actor committer, deal_truth good);

} // namespace keepa
