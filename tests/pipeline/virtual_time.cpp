// Test 1 of issue 6: the pipeline in virtual time against the simulator.

#include <catch2/catch.hpp>

#include <set>

#include <caf/config_value.hpp>
#include <caf/send.hpp>
#include <caf/scoped_actor.hpp>

#include "tests/pipeline/harness.hpp"

using namespace pipeline_test;
using namespace keepa;

namespace {

struct figures {
  int64_t generated;
  int64_t spent;
  int64_t committed;
  double recall;
};

void report(harness& f, const char* label, caf::timespan ran) {
  auto ts = f.token_status();
  auto scanner = f.status(caf::actor_cast<status_client_actor>(f.h.scanner));
  auto peek = f.status(caf::actor_cast<status_client_actor>(f.h.peek));
  auto commit = f.status(caf::actor_cast<status_client_actor>(f.h.committer));
  auto minutes = std::chrono::duration_cast<std::chrono::minutes>(ran)
                   .count();
  auto rate = f.model->opts().refill_rate;
  auto generated = f.generated + rate * minutes;
  auto spent = ts.totals.consumed;
  WARN(label << ": generated " << generated << ", consumed " << spent
             << " (" << 100.0 * spent / generated << " %), lost at cap "
             << ts.totals.lost_at_cap << ", min balance " << f.min_balance
             << ", floor " << ts.floor << "; scanned "
             << get_int(scanner, "candidates") << ", pre-rejected "
             << get_int(scanner, "pre-rejected") << ", remembered "
             << get_int(scanner, "remembered") << ", peeked "
             << get_int(peek, "peeked") << ", survived "
             << get_int(peek, "survived") << ", committed "
             << get_int(commit, "committed") << ", grants "
             << ts.totals.grants << " = settled " << ts.totals.settled_grants
             << " + released " << ts.totals.released_grants << " + expired "
             << ts.totals.expired_grants);
}

} // namespace

TEST_CASE("R = 250: six simulated hours, never below the floor",
          "[pipeline]") {
  sim::options opts;
  opts.refill_rate = 250;
  opts.products = 3000;
  opts.update_rate = 20;
  harness f{opts, "r250"};
  auto hours = std::chrono::hours{6};
  f.run_for(hours);
  report(f, "R=250 6 h", hours);
  auto ts = f.token_status();
  CHECK(f.min_balance >= ts.floor);
  auto commit = f.status(caf::actor_cast<status_client_actor>(f.h.committer));
  CHECK(get_int(commit, "committed") > 0);
  // Every grant ends once: settled, released or expired; only the few in
  // flight at the end are open.
  auto ended = ts.totals.settled_grants + ts.totals.released_grants
               + ts.totals.expired_grants;
  CHECK(ended <= ts.totals.grants);
  CHECK(ts.totals.grants - ended <= 8);
}
