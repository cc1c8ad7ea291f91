// The pipeline tests' view of keepa::virtual_run (tools/virtual-run): the
// whole pipeline on CAF's test coordinator against keepa-sim's model in
// process, with a SQLite file, failing the test where a step fails.

#pragma once

#include <functional>
#include <string>

#include <catch2/catch.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "messages/error.hpp"
#include "tools/virtual-run/virtual_run.hpp"

namespace pipeline_test {

using keepa::get_int;
using keepa::recall_figures;

struct harness : keepa::virtual_run {
  /// `configure` may change the settings (filters, profiles) before the
  /// actors start.
  harness(keepa::sim::options opts, const std::string& name,
          caf::timespan scan_interval = std::chrono::minutes{2},
          const std::function<void(keepa::pipeline_settings&)>& configure
          = nullptr)
    : virtual_run(std::move(opts), "test-" + name, scan_interval) {
    if (configure)
      configure(settings);
    spawn();
  }

  void spawn() {
    auto err = virtual_run::spawn();
    INFO(keepa::render(err));
    REQUIRE(!err);
  }

  void shut_down() {
    auto silent = virtual_run::shut_down();
    std::string names;
    for (auto& x : silent)
      names += x + " ";
    INFO("did not confirm: " << names);
    CHECK(silent.empty());
  }
};

} // namespace pipeline_test
