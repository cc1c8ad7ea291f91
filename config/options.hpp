// The option registry: every keepa.* option of every keepa program,
// registered once. keepa::pipeline_config's constructor calls it, so
// keepa-pipeline, keepa-eta, keepa-bench, the token demo and the tests all
// accept the same keepa.* options; a tool adds only its own groups (eta.*,
// bench.*, demo.*). The help texts state the defaults of config/defaults.hpp,
// generated from the constants.

#pragma once

#include <string>

#include <caf/fwd.hpp>

namespace keepa {

/// Registers keepa.* (profile and run control), keepa.token.*,
/// keepa.client.*, keepa.storage.*, keepa.scan.*, keepa.update.*,
/// keepa.filter.*, keepa.business.*, keepa.introspection.* and keepa.http.*.
/// Each help text ends in "(default X)", X as one would pass it on the command
/// line ("none" for an empty string). With `defaults`, records each default
/// there under the option's full name (--dump-config prints them).
void add_keepa_options(caf::config_option_set& opts,
                       caf::settings* defaults = nullptr);

} // namespace keepa
