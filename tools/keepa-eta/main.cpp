// keepa-eta: "how long until N deals?", answered by the real pipeline
// actors in virtual time against the in-process simulator.
//
//   keepa-eta --eta.refill-rate=5 --eta.deals=10000
//   keepa-eta --eta.from=sqlite:deals.db --eta.deals=10000  (fitted)
//   keepa-eta --eta.refill-rate=20 --eta.products=20000 --eta.update-rate=30
//             --keepa.filter.min-roi=0.3 --keepa.profile=below-60

#include <iostream>

#include <caf/config_value.hpp>

#include "config/pipeline_config.hpp"
#include "messages/error.hpp"
#include "tools/keepa-eta/eta.hpp"

using namespace keepa;

namespace {

class eta_config : public pipeline_config {
public:
  eta_config() {
    add_group("eta", "plan, catalogue and target")
      .add<int64_t>("refill-rate", "plan tokens per minute (default 5)")
      .add<int64_t>("balance", "starting balance (default -1 = full)")
      .add<size_t>("deals", "stored deals to reach (default 10000)")
      .add<int64_t>("products", "books in the catalogue (default 5000)")
      .add<double>("update-rate", "book updates per minute (default 4)")
      .add<double>("good-fraction", "share of good deals (default 0.03)")
      .add<double>("peek-pass-fraction", "share passing a peek (default 0.15)")
      .add<size_t>("seed", "catalogue seed (default 1)")
      .add<caf::timespan>("max-time", "give up after (default 8760h, 365 days)")
      .add<caf::timespan>("window",
                          "give up early once the growth over this last "
                          "stretch would not reach the target within "
                          "max-time (default 168h, 0s = never)")
      .add<caf::timespan>("scan-interval",
                          "scanner interval (default keepa.scan.interval, "
                          "5min)")
      .add<std::string>("from",
                        "fit the mixture from this storage URL (sqlite:FILE "
                        "or postgresql:...), a database keepa-pipeline "
                        "filled, instead of simulating (default none = "
                        "simulate)");
    // The keepa.* options (keepa.update.*: stored deals cost a refresh
    // each, so a shorter refresh-after caps how many deals a plan can hold;
    // keepa.filter.*, keepa.business.*, keepa.peek.*, keepa.scan.* but its
    // query files) come with pipeline_config.
  }
};

} // namespace

int main(int argc, char** argv) {
  eta_config cfg;
  if (auto err = cfg.load(argc, argv)) {
    std::cerr << "keepa-eta: " << render(err) << "\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  auto opts = eta_options_from(cfg.content);
  if (!opts) {
    std::cerr << "keepa-eta: " << render(opts.error()) << "\n";
    return 2;
  }
  if (!opts->from.empty()) {
    auto fitted = fit_eta(*opts);
    if (!fitted) {
      std::cerr << "keepa-eta: " << render(fitted.error()) << "\n";
      return 2;
    }
    std::cout << render(*opts, *fitted);
    return fitted->answer.reachable ? 0 : 1;
  }
  auto res = run_eta(*opts, cfg);
  if (!res) {
    std::cerr << "keepa-eta: " << render(res.error()) << "\n";
    return 2;
  }
  std::cout << render(*opts, *res);
  return res->reached ? 0 : 1;
}
