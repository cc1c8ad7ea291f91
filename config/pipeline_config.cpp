#include "config/pipeline_config.hpp"

#include <caf/config_option_adder.hpp>
#include <caf/config_option_set.hpp>
#include <caf/settings.hpp>
#include <caf/timespan.hpp>

#include "config/cli.hpp"
#include "config/defaults.hpp"
#include "config/options.hpp"
#include "messages/error.hpp"
#include "messages/fwd.hpp"

namespace keepa {

std::string default_profiles_dir() {
  return defaults::profiles_dir();
}

pipeline_config::pipeline_config() {
  keepa::add_message_types(*this);
  add_keepa_options(custom_options_, &program_.defaults);
  add_cli_options(custom_options_);
  program_.groups.emplace_back("keepa");
  // Never printed (a password in keepa.storage.url is masked instead;
  // config/cli.hpp).
  program_.secrets = {"openssl.passphrase"};
  // Our defaults for CAF's scheduler; the config file and --scheduler.*
  // override them (parse() only replaces what they name).
  set("scheduler.policy", caf::atom(defaults::scheduler::policy));
  set("scheduler.max-threads", defaults::scheduler::max_threads);
}

option_adder pipeline_config::add_group(const char* category, const char*) {
  program_.groups.emplace_back(category);
  return option_adder{custom_options_, category, &program_.defaults};
}

void pipeline_config::describe(std::string summary) {
  program_.summary = std::move(summary);
}

std::string pipeline_config::help_text() const {
  return keepa::help_text(custom_options_, program_.defaults, program_, false);
}

namespace {

/// Values CAF accepts that the programs cannot run with.
caf::error check_values(const caf::settings& content) {
  auto bad = [](std::string what) {
    return caf::make_error(ec::invalid_config, std::move(what));
  };
  if (caf::get_or(content, "keepa.run-for", caf::timespan{defaults::run_for})
        .count()
      < 0)
    return bad("keepa.run-for must not be negative (0s = never stop)");
  if (caf::get_or(content, "keepa.status-every",
                  caf::timespan{defaults::status_every})
        .count()
      <= 0)
    return bad("keepa.status-every must be positive");
  if (caf::get_or(content, "keepa.status-refresh",
                  caf::timespan{defaults::status_refresh})
        .count()
      <= 0)
    return bad("keepa.status-refresh must be positive");
  if (auto n = caf::get_if<size_t>(&content, "scheduler.max-threads");
      n && *n == 0)
    return bad("scheduler.max-threads must be at least 1");
  return caf::none;
}

} // namespace

caf::error pipeline_config::load(int argc, char** argv) {
  if (auto err = parse_command_line(*this, custom_options_, argc, argv,
                                    program_))
    return err;
  if (cli_helptext_printed)
    return caf::none;
  if (auto err = check_values(content))
    return err;
  return load_profiles(*this);
}

caf::error load_profiles(pipeline_config& cfg) {
  auto dir = caf::get_or(cfg, "keepa.profiles-dir", default_profiles_dir());
  auto xs = load_profiles(dir);
  if (!xs)
    return xs.error();
  cfg.profiles = std::move(*xs);
  auto name = caf::get_or(cfg, "keepa.profile", std::string{defaults::profile});
  if (name != "auto" && !find_profile(cfg.profiles, name))
    return caf::make_error(ec::unknown_profile,
                           "no profile named \"" + name + "\" in " + dir);
  return caf::none;
}

caf::settings pipeline_config::dump_content() const {
  auto result = actor_system_config::dump_content();
  auto& keepa = result["keepa"].as_dictionary();
  keepa.emplace("profile",
                caf::get_or(content, "keepa.profile",
                            std::string{defaults::profile}));
  auto dir = caf::get_or(content, "keepa.profiles-dir", default_profiles_dir());
  keepa.emplace("profiles-dir", dir);
  auto xs = keepa::load_profiles(dir);
  if (!xs)
    return result;
  caf::settings profiles;
  for (auto& p : *xs) {
    caf::settings entry;
    entry.emplace("min-rate", p.min_rate);
    entry.emplace("floor", p.floor);
    entry.emplace("scan-pages", p.scan_pages);
    entry.emplace("peek-batch", p.peek_batch);
    entry.emplace("commit-batch", p.commit_batch);
    entry.emplace("update-batch", p.update_batch);
    std::vector<std::string> order;
    for (auto s : p.priority)
      order.emplace_back(to_string(s));
    entry.emplace("priority", order);
    entry.emplace("updater-share", p.updater_share);
    entry.emplace("peek-offers", p.peek_offers);
    entry.emplace("commit-offers", p.commit_offers);
    profiles.emplace(p.name, std::move(entry));
  }
  keepa.emplace("profiles", std::move(profiles));
  return result;
}

} // namespace keepa
