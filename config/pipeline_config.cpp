#include "config/pipeline_config.hpp"

#include <algorithm>
#include <cstring>
#include <iostream>

#include <caf/config_option_adder.hpp>
#include <caf/config_option_set.hpp>
#include <caf/settings.hpp>

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
  add_keepa_options(custom_options_);
}

caf::config_option_adder pipeline_config::add_group(const char* category,
                                                    const char*) {
  own_groups_.emplace_back(category);
  return opt_group{custom_options_, category};
}

std::string pipeline_config::help_text() const {
  auto shown = [this](const std::string& category) {
    return category == "global" || category == "keepa"
      || category.compare(0, 6, "keepa.") == 0
      || std::find(own_groups_.begin(), own_groups_.end(), category)
      != own_groups_.end();
  };
  caf::config_option_set xs;
  for (auto& opt : custom_options_) {
    auto category = opt.category();
    if (shown(std::string{category.begin(), category.end()}))
      xs.add(opt);
  }
  return xs.help_text(false);
}

namespace {

/// Whether the command line asks for the short help (CAF's -h, -? or
/// --help) and not for --long-help.
bool wants_help(int argc, char** argv) {
  bool help = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--long-help") == 0)
      return false;
    if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "-?") == 0
        || std::strcmp(argv[i], "--help") == 0)
      help = true;
  }
  return help;
}

} // namespace

caf::error pipeline_config::load(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    // Where CAF prints its help text.
    std::cout << help_text() << std::endl;
    cli_helptext_printed = true;
    return caf::none;
  }
  if (auto err = parse(argc, argv))
    return caf::make_error(ec::invalid_config, render(err));
  if (cli_helptext_printed)
    return caf::none;
  if (!remainder.empty())
    return caf::make_error(ec::invalid_config,
                           "unknown argument: " + remainder.front());
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
