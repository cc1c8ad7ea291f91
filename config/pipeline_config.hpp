// The actor system configuration of every keepa program: CAF's own options
// plus every `keepa.*` option (config/options.hpp registers them, once), so
// --dump-config and CLI overrides work the same in every program.

#pragma once

#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>

#include "config/cli.hpp"
#include "config/option_adder.hpp"
#include "config/profile.hpp"

namespace keepa {

class pipeline_config : public caf::actor_system_config {
public:
  pipeline_config();

  /// Parses CLI and config file (config/cli.hpp: --help, --long-help,
  /// --version and --dump-config print and set cli_helptext_printed), then
  /// loads and validates the profiles. Returns an error in plain words
  /// (never containing the API key).
  caf::error load(int argc, char** argv);

  /// The global options, every keepa.* option and the program's own groups,
  /// each with its default (--help).
  std::string help_text() const;

  /// The line under the usage line of --help.
  void describe(std::string summary);

  /// --dump-config also shows the loaded profiles.
  caf::settings dump_content() const override;

  /// The profiles loaded from `keepa.profiles-dir`.
  std::vector<profile> profiles;

  /// Every registered option: CAF's, keepa.* and the program's own.
  const caf::config_option_set& options() const noexcept {
    return custom_options_;
  }

protected:
  /// Adds an option group, for programs that add options of their own
  /// (eta.*, bench.*, demo.*); the keepa.* options are all there already.
  /// Options added `with_default` show their default in --help and
  /// --dump-config.
  option_adder add_group(const char* category, const char* description);

private:
  /// The groups --help shows, the secret options and the defaults.
  cli_program program_;
};

/// Where the profiles live unless `keepa.profiles-dir` says otherwise.
std::string default_profiles_dir();

/// Loads and validates the profiles of `cfg`; picks `keepa.profile`.
caf::error load_profiles(pipeline_config& cfg);

} // namespace keepa
