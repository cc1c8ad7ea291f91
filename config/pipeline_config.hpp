// The actor system configuration of every keepa program: CAF's own options
// plus every `keepa.*` option (config/options.hpp registers them, once), so
// --dump-config and CLI overrides work the same in every program.

#pragma once

#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>

#include "config/profile.hpp"

namespace keepa {

class pipeline_config : public caf::actor_system_config {
public:
  pipeline_config();

  /// Parses CLI and config file like CAF does, then loads and validates the
  /// profiles. Returns a readable error (never containing the API key).
  /// `--help` prints help_text() (CAF's own shows the global options only);
  /// `--long-help` prints CAF's, with CAF's own groups too.
  caf::error load(int argc, char** argv);

  /// The global options, every keepa.* option and the program's own groups.
  std::string help_text() const;

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
  caf::config_option_adder add_group(const char* category,
                                     const char* description);

private:
  /// The groups added by add_group, which --help shows.
  std::vector<std::string> own_groups_;
};

/// Where the profiles live unless `keepa.profiles-dir` says otherwise.
std::string default_profiles_dir();

/// Loads and validates the profiles of `cfg`; picks `keepa.profile`.
caf::error load_profiles(pipeline_config& cfg);

} // namespace keepa
