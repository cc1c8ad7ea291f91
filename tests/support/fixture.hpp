// Deterministic actor-system fixture for Catch2: CAF's test_coordinator
// (scheduler policy `testing`) with time driven explicitly. CAF's own test
// DSL crashes under Catch2 (STYLE.md), so this is our own.

#pragma once

#include <chrono>
#include <optional>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include "config/pipeline_config.hpp"

namespace keepa::test {

struct test_config : pipeline_config {
  test_config() {
    set("scheduler.policy", caf::atom("testing"));
    set("logger.file-verbosity", caf::atom("quiet"));
    set("middleman.network-backend", caf::atom("testing"));
  }
};

struct deterministic_fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched
    = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());

  deterministic_fixture() {
    // Start an hour in, so no timestamp is 0.
    sched.advance_time(std::chrono::hours(1));
  }

  ~deterministic_fixture() {
    sched.run();
  }

  caf::actor_clock::time_point now() {
    return sched.clock().now();
  }

  /// Moves virtual time forward by `d` and runs everything that became due.
  void advance(caf::timespan d) {
    sched.advance_time(d);
    sched.run();
  }

  /// Sends `xs` to `a`, runs what is due now and returns the answer, or
  /// nothing if `a` answered nothing of type `T` (virtual time stands still).
  template<class T, class Handle, class... Ts>
  std::optional<T> ask(const Handle& a, Ts&&... xs) {
    caf::scoped_actor self{sys};
    self->send(a, std::forward<Ts>(xs)...);
    sched.run();
    std::optional<T> result;
    self->receive([&](T& x) { result = std::move(x); },
                  caf::after(std::chrono::seconds{0}) >> [] {});
    return result;
  }

  /// Runs until virtual time reaches `end`, jumping from one pending timeout
  /// to the next; returns early if nothing is pending.
  void run_until(caf::actor_clock::time_point end) {
    sched.run();
    while (sched.has_pending_timeout()) {
      if (sched.clock().schedule().begin()->first > end)
        break;
      sched.trigger_timeout();
      sched.run();
    }
    if (now() < end)
      sched.advance_time(end - now());
    sched.run();
  }
};

} // namespace keepa::test
