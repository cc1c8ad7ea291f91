// keepa-token-demo: four stages (scan, peek, commit, update) that always want
// tokens, against a model of Keepa's bucket, on CAF's deterministic
// scheduler so hours of refills take milliseconds. Prints the balance and
// the grants per stage as time goes by.

#include <iomanip>
#include <iostream>

#include <caf/actor_system.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/settings.hpp>

#include "actors/token/token.hpp"
#include "config/pipeline_config.hpp"
#include "messages/error.hpp"
#include "tests/support/bucket_model.hpp"
#include "tests/support/consumer.hpp"

using namespace keepa;
using namespace std::chrono_literals;

namespace {

class demo_config : public pipeline_config {
public:
  demo_config() {
    add_group("demo", "token demo")
      .add<int64_t>("rate",
                    keepa::with_default("refill rate of the modelled plan "
                                        "(tokens/min)",
                                        int64_t{5}))
      .add<int64_t>("hours",
                    keepa::with_default("simulated hours to run", int64_t{6}))
      .add<int64_t>("report-every",
                    keepa::with_default("minutes between report lines",
                                        int64_t{30}));
    set("scheduler.policy", caf::atom("testing"));
  }
};

} // namespace

int main(int argc, char** argv) {
  demo_config cfg;
  if (auto err = cfg.load(argc, argv)) {
    std::cerr << "keepa-token-demo: " << render(err) << "\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  auto rate = caf::get_or(cfg, "demo.rate", int64_t{5});
  auto hours = caf::get_or(cfg, "demo.hours", int64_t{6});
  auto every = caf::get_or(cfg, "demo.report-every", int64_t{30});
  if (rate <= 0 || hours <= 0 || every <= 0) {
    std::cerr << "keepa-token-demo: demo.rate, demo.hours and "
                 "demo.report-every must be positive\n";
    return 2;
  }
  auto tcfg = token_config_from(cfg);
  if (auto err = validate(tcfg)) {
    std::cerr << "keepa-token-demo: " << render(err) << "\n";
    return 2;
  }
  caf::actor_system sys{cfg};
  auto& sched
    = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  sched.advance_time(1h);
  auto start = sched.clock().now();
  test::keepa_model keepa{rate, 60 * rate, start};
  tcfg.probe = sys.spawn(test::probe, &keepa);
  auto tok = sys.spawn(token, tcfg);
  struct spec {
    stage what;
    int64_t cost;
  };
  std::vector<spec> specs{{stage::scan, 5},
                          {stage::peek, 20},
                          {stage::commit, 30},
                          {stage::update, 20}};
  std::vector<test::consumer_log> logs(specs.size());
  std::vector<caf::actor> consumers;
  for (size_t i = 0; i < specs.size(); ++i)
    consumers.push_back(sys.spawn(test::consumer, tok, &keepa, specs[i].what,
                                  specs[i].cost, 0, 1 + i, &logs[i]));
  std::cout << "keepa-token-demo: R = " << rate << " tokens/min, cap "
            << 60 * rate << ", " << hours << " simulated hours\n"
            << "  time   balance  min  grants: scan peek commit update  "
               "waits\n";
  auto print = [&](caf::actor_clock::time_point t) {
    auto minutes = (t - start) / 1min;
    int64_t waits = 0;
    for (auto& l : logs)
      waits += l.waits;
    std::cout << std::setw(3) << minutes / 60 << "h" << std::setw(2)
              << std::setfill('0') << minutes % 60 << std::setfill(' ')
              << std::setw(10) << keepa.balance() << std::setw(5)
              << keepa.min_balance() << std::setw(14) << logs[0].grants
              << std::setw(5) << logs[1].grants << std::setw(7)
              << logs[2].grants << std::setw(7) << logs[3].grants
              << std::setw(7) << waits << "\n";
  };
  sched.run();
  for (auto t = start + std::chrono::minutes(every);
       t <= start + std::chrono::hours(hours);
       t += std::chrono::minutes(every)) {
    while (sched.has_pending_timeout()
           && sched.clock().schedule().begin()->first <= t) {
      sched.trigger_timeout();
      sched.run();
    }
    if (sched.clock().now() < t)
      sched.advance_time(t - sched.clock().now());
    sched.run();
    keepa.advance(t);
    print(t);
  }
  auto utilisation = 100.0 * double(keepa.spent()) / double(keepa.generated());
  std::cout << "spent " << keepa.spent() << " of " << keepa.generated()
            << " tokens generated (" << std::fixed << std::setprecision(2)
            << utilisation << " %), lowest balance " << keepa.min_balance()
            << ", 429s " << keepa.rejections() << "\n";
  for (auto& c : consumers)
    caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(tok, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(tcfg.probe, caf::exit_reason::user_shutdown);
  sched.run();
  return 0;
}
