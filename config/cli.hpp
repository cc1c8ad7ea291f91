// The command line every keepa program shares (issue 19):
//  - `--help`: the program's own options grouped, each with its default;
//    CAF's internals only under `--long-help`;
//  - `--version`: name, version (CMake's project version) and git commit;
//  - option errors in plain words (`--keepa.filter.min-price: expected
//    whole cents, got "12.50"`), never echoing a secret option's value;
//  - `--dump-config`: every effective value, defaults included, as a config
//    file that reads back (`--config-file=`) to the same configuration;
//  - a config file's unknown keys and wrongly typed values refused by name
//    (CAF 0.17 drops them silently).
// pipeline_config::load calls parse_command_line; keepa-sim and
// keepa-status call it with their own option sets, the positional tools
// (keepa-storage-bench, keepa-storage-crash) positional_cli.

#pragma once

#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/settings.hpp>

namespace keepa {

/// How a program presents its command line.
struct cli_program {
  /// The program's name ("keepa-pipeline"); empty = from argv[0].
  std::string name;
  /// One line on what it does, under the usage line of --help.
  std::string summary;
  /// The option groups --help shows besides `global`; a group shows its
  /// subgroups too ("keepa" shows "keepa.scan"). --long-help shows all.
  std::vector<std::string> groups;
  /// Full names of options whose values are never printed (errors,
  /// --dump-config): keys, passphrases, URLs that may hold a password.
  std::vector<std::string> secrets;
  /// The defaults of options registered with `with_default`
  /// (config/option_adder.hpp), by full name.
  caf::settings defaults;
};

/// "NAME VERSION" plus " (git COMMIT)" when the build knew it.
std::string version_text(const std::string& program);

/// Registers `--version` in the global group.
void add_cli_options(caf::config_option_set& opts);

/// The help text: usage, summary and the groups of `p` (all groups with
/// `long_help`), each option with its default from `defaults` unless its
/// text states one.
std::string help_text(const caf::config_option_set& opts,
                      const caf::settings& defaults, const cli_program& p,
                      bool long_help);

/// One line for an error of CAF's command line or config file parser, in
/// plain words: the option, what it expects and what it got (unless the
/// option is secret).
std::string describe_option_error(const caf::error& err,
                                  const caf::config_option_set& opts,
                                  const cli_program& p);

/// Checks every key of the config file `file` against `opts`: an unknown
/// key or a value of the wrong type is an error naming the key, never its
/// value.
caf::error check_config_file(const caf::config_option_set& opts,
                             const std::string& file);

/// `effective` (every value in force, defaults included) as a config file:
/// one section per option group, a commented line for an option without a
/// value or with a secret one, and what is not an option (the loaded
/// profiles) as comments at the end.
std::string dump_config(const caf::settings& effective,
                        const caf::config_option_set& opts,
                        const cli_program& p);

/// Parses the command line and the config file into `cfg.content` and
/// answers --help, --long-help, --version and --dump-config on stdout (then
/// `cfg.cli_helptext_printed` is true and the program exits 0). Errors come
/// back in plain words (the program prints them and exits 2).
caf::error parse_command_line(caf::actor_system_config& cfg,
                              const caf::config_option_set& opts, int argc,
                              char** argv, cli_program p);

/// An error as a program prints it before it exits 2: a configuration
/// error's text alone, anything else rendered.
std::string plain_words(const caf::error& err);

/// For programs with positional arguments: answers --help or --long-help
/// (`usage` and the two options) and --version; returns the exit code then,
/// nothing otherwise.
std::optional<int> positional_cli(int argc, char** argv,
                                  const std::string& usage);

} // namespace keepa
